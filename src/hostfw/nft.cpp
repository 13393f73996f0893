#include "portmatrix/nft.hpp"

#include <nftables/libnftables.h>

#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace portmatrix::nft {

namespace {
struct CtxFree {
  void operator()(nft_ctx* c) const { nft_ctx_free(c); }
};
}  // namespace

Expected<std::string> run(std::string_view commands, bool json_output, bool dry_run, bool handles) {
  std::unique_ptr<nft_ctx, CtxFree> ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) return Error{Error::Kind::kernel, "libnftables: cannot create a context"};
  nft_ctx_buffer_output(ctx.get());
  nft_ctx_buffer_error(ctx.get());
  unsigned flags = 0;
  if (json_output) flags |= NFT_CTX_OUTPUT_JSON;
  if (handles) flags |= NFT_CTX_OUTPUT_HANDLE;
  if (flags) nft_ctx_output_set_flags(ctx.get(), flags);
  if (dry_run) nft_ctx_set_dry_run(ctx.get(), true);
  std::string buf(commands);
  int rc = nft_run_cmd_from_buffer(ctx.get(), buf.c_str());
  const char* out = nft_ctx_get_output_buffer(ctx.get());
  const char* err = nft_ctx_get_error_buffer(ctx.get());
  if (rc != 0) {
    std::string msg = err && *err ? err : "nftables refused the commands";
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    Error::Kind kind = msg.find("Operation not permitted") != std::string::npos ? Error::Kind::permission : Error::Kind::kernel;
    return Error{kind, msg};
  }
  return std::string(out ? out : "");
}

Expected<std::string> list_own_table() {
  auto tables = run("list tables", true);
  if (!tables) return tables.error();
  auto j = nlohmann::json::parse(*tables, nullptr, false);
  bool present = false;
  if (j.is_object() && j.contains("nftables"))
    for (const auto& item : j["nftables"])
      if (item.contains("table") && item["table"].value("family", "") == kFamily && item["table"].value("name", "") == kTable)
        present = true;
  if (!present) return std::string();
  return run(fmt::format("list table {} {}", kFamily, kTable));
}

Expected<std::string> list_ruleset_json() { return run("list ruleset", true); }

Status delete_own_table() {
  auto current = list_own_table();
  if (!current) return current.error();
  if (current->empty()) return std::nullopt;
  auto r = run(fmt::format("delete table {} {}", kFamily, kTable));
  if (!r) return r.error();
  return std::nullopt;
}

Expected<std::map<std::string, Counter>> own_counters() {
  std::map<std::string, Counter> out;
  auto current = list_own_table();
  if (!current) return current.error();
  if (current->empty()) return out;
  auto text = run(fmt::format("list table {} {}", kFamily, kTable), true);
  if (!text) return text.error();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) return Error{Error::Kind::kernel, "libnftables returned JSON that does not parse"};
  for (const auto& item : j["nftables"]) {
    if (!item.contains("rule")) continue;
    const auto& rule = item["rule"];
    std::string comment = rule.value("comment", "");
    if (comment.empty()) continue;
    for (const auto& e : rule.value("expr", nlohmann::json::array()))
      if (e.contains("counter") && e["counter"].is_object()) {
        out[comment].packets += e["counter"].value("packets", std::uint64_t{0});
        out[comment].bytes += e["counter"].value("bytes", std::uint64_t{0});
      }
  }
  return out;
}

}  // namespace portmatrix::nft
