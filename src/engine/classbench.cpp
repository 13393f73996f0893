// ClassBench rule and trace readers: hand-written line scanners that report the
// first problem of each bad line at its column and go on with the next line.
#include "portmatrix/classbench.hpp"

#include <string>

#include <fmt/format.h>

namespace portmatrix {

namespace {

// Past this many errors a file is clearly not ClassBench: stop and say so.
constexpr std::size_t kMaxErrors = 50;

// A scanner over one line. Methods return false after recording the first
// error (message and 1-based column); later calls keep the first error.
class LineScanner {
 public:
  explicit LineScanner(std::string_view line) : s_(line) {}

  bool blank() const { return s_.find_first_not_of(" \t\r") == std::string_view::npos; }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\r')) ++pos_;
  }
  bool at_end() {
    skip_space();
    return pos_ == s_.size();
  }
  bool literal(char c, std::string_view what) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return fail(fmt::format("expected {}", what));
  }
  // A decimal number no greater than max.
  bool decimal(std::uint64_t max, std::string_view what, std::uint64_t& out) { return number(10, max, what, out); }
  // "0x" and a hexadecimal number no greater than max.
  bool hex(std::uint64_t max, std::string_view what, std::uint64_t& out) {
    if (!(pos_ + 1 < s_.size() && s_[pos_] == '0' && (s_[pos_ + 1] == 'x' || s_[pos_ + 1] == 'X')))
      return fail(fmt::format("expected {} in hexadecimal (0x...)", what));
    pos_ += 2;
    return number(16, max, what, out);
  }
  bool fail(std::string message, std::size_t at) {
    if (error_.empty()) error_ = std::move(message), error_col_ = static_cast<int>(at) + 1;
    return false;
  }
  bool fail(std::string message) { return fail(std::move(message), pos_); }
  std::size_t pos() const { return pos_; }
  const std::string& error() const { return error_; }
  int error_column() const { return error_col_; }

 private:
  static int digit(char c, int base) {
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 99;
    return v < base ? v : -1;
  }
  bool number(int base, std::uint64_t max, std::string_view what, std::uint64_t& out) {
    const std::size_t start = pos_;
    std::uint64_t v = 0;
    bool too_big = false;
    while (pos_ < s_.size() && digit(s_[pos_], base) >= 0) {
      v = v * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(digit(s_[pos_], base));
      too_big |= v > max;
      if (too_big) v = max + 1;  // keep v small; the error is decided
      ++pos_;
    }
    if (pos_ == start) return fail(fmt::format("expected {}", what));
    if (too_big) return fail(fmt::format("{} is greater than {}", what, max), start);
    out = v;
    return true;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::string error_;
  int error_col_ = 0;
};

// Calls f(line, number) for every line of text.
template <class F>
void for_each_line(std::string_view text, F&& f) {
  int number = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    if (!f(line, ++number)) return;
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

// Records a bad line; false once there are too many to go on.
bool record(Diagnostics& diags, std::string_view file, int line, const LineScanner& sc) {
  if (diags.error_count() == kMaxErrors) {
    diags.note({std::string(file), line, 0}, "too many errors; stopped reading");
    return false;
  }
  diags.error({std::string(file), line, sc.error_column()}, sc.error());
  return true;
}

// "A.B.C.D/LEN" as an inclusive range.
bool prefix(LineScanner& sc, std::string_view which, std::uint32_t& lo, std::uint32_t& hi) {
  const std::size_t start = sc.pos();
  std::uint32_t addr = 0;
  for (int i = 0; i < 4; ++i) {
    std::uint64_t byte = 0;
    if (i > 0 && !sc.literal('.', fmt::format("'.' in the {} address", which))) return false;
    if (!sc.decimal(255, fmt::format("a byte of the {} address", which), byte)) return false;
    addr = addr << 8 | static_cast<std::uint32_t>(byte);
  }
  std::uint64_t len = 0;
  if (!sc.literal('/', fmt::format("'/' and the {} prefix length", which))) return false;
  if (!sc.decimal(32, fmt::format("the {} prefix length", which), len)) return false;
  const std::uint32_t host = len == 0 ? 0xffffffffu : (std::uint32_t(1) << (32 - len)) - 1;
  if (addr & host) return sc.fail(fmt::format("the {} prefix has host bits set (below /{})", which, len), start);
  lo = addr;
  hi = addr | host;
  return true;
}

// "LO : HI" (ClassBench writes spaces around the colon; any amount is accepted).
bool port_range(LineScanner& sc, std::string_view which, std::uint16_t& lo, std::uint16_t& hi) {
  const std::size_t start = sc.pos();
  std::uint64_t a = 0, b = 0;
  if (!sc.decimal(65535, fmt::format("the low {} port", which), a)) return false;
  sc.skip_space();
  if (!sc.literal(':', fmt::format("':' between the {} ports", which))) return false;
  sc.skip_space();
  if (!sc.decimal(65535, fmt::format("the high {} port", which), b)) return false;
  if (a > b) return sc.fail(fmt::format("the {} port range {} : {} is empty (low above high)", which, a, b), start);
  lo = static_cast<std::uint16_t>(a);
  hi = static_cast<std::uint16_t>(b);
  return true;
}

// "0xVALUE/0xMASK".
bool value_mask(LineScanner& sc, std::string_view what, std::uint64_t max, std::uint64_t& value, std::uint64_t& mask) {
  if (!sc.hex(max, fmt::format("the {} value", what), value)) return false;
  if (!sc.literal('/', fmt::format("'/' and the {} mask", what))) return false;
  return sc.hex(max, fmt::format("the {} mask", what), mask);
}

bool rule_line(LineScanner& sc, ClassRule& r) {
  sc.skip_space();
  if (!sc.literal('@', "'@' at the start of a rule")) return false;
  if (!prefix(sc, "source", r.src_lo, r.src_hi)) return false;
  sc.skip_space();
  if (!prefix(sc, "destination", r.dst_lo, r.dst_hi)) return false;
  sc.skip_space();
  if (!port_range(sc, "source", r.sport_lo, r.sport_hi)) return false;
  sc.skip_space();
  if (!port_range(sc, "destination", r.dport_lo, r.dport_hi)) return false;
  sc.skip_space();
  std::uint64_t value = 0, mask = 0;
  if (!value_mask(sc, "protocol", 0xff, value, mask)) return false;
  r.proto = static_cast<std::uint8_t>(value);
  r.proto_mask = static_cast<std::uint8_t>(mask);
  if (sc.at_end()) return true;
  if (!value_mask(sc, "TCP flags", 0xffff, value, mask)) return false;  // checked, not classified on
  return sc.at_end() || sc.fail("unexpected text after the rule");
}

bool trace_line(LineScanner& sc, ClassKey& k, std::int32_t& hint) {
  static constexpr std::string_view kNames[] = {"the source address", "the destination address", "the source port",
                                                "the destination port", "the protocol", "the flags field", "the rule hint"};
  static constexpr std::uint64_t kMax[] = {0xffffffffu, 0xffffffffu, 0xffff, 0xffff, 0xff, 0xffffffffu, 0x7fffffff};
  std::uint64_t v[7] = {};
  int n = 0;
  for (; n < 7; ++n) {
    if (sc.at_end()) break;
    if (!sc.decimal(kMax[n], kNames[n], v[n])) return false;
  }
  if (n < 5) return sc.fail(fmt::format("expected {} (a trace line has 5 to 7 numbers)", kNames[n]));
  if (!sc.at_end()) return sc.fail("unexpected text after the trace line (a trace line has 5 to 7 numbers)");
  k.src = static_cast<std::uint32_t>(v[0]);
  k.dst = static_cast<std::uint32_t>(v[1]);
  k.sport = static_cast<std::uint16_t>(v[2]);
  k.dport = static_cast<std::uint16_t>(v[3]);
  k.proto = static_cast<std::uint8_t>(v[4]);
  hint = n == 7 ? static_cast<std::int32_t>(v[6]) : -1;
  return true;
}

}  // namespace

Parsed<std::vector<ClassRule>> parse_classbench_rules(std::string_view text, std::string_view file) {
  Parsed<std::vector<ClassRule>> out;
  std::vector<ClassRule> rules;
  for_each_line(text, [&](std::string_view line, int number) {
    LineScanner sc(line);
    if (sc.blank()) return true;
    ClassRule r;
    if (!rule_line(sc, r)) return record(out.diags, file, number, sc);
    r.id = static_cast<std::int32_t>(rules.size());
    rules.push_back(r);
    return true;
  });
  if (!out.diags.has_errors()) out.value = std::move(rules);
  return out;
}

Parsed<ClassBenchTrace> parse_classbench_trace(std::string_view text, std::string_view file) {
  Parsed<ClassBenchTrace> out;
  ClassBenchTrace trace;
  for_each_line(text, [&](std::string_view line, int number) {
    LineScanner sc(line);
    if (sc.blank()) return true;
    ClassKey k;
    std::int32_t hint = -1;
    if (!trace_line(sc, k, hint)) return record(out.diags, file, number, sc);
    trace.keys.push_back(k);
    trace.hints.push_back(hint);
    return true;
  });
  if (!out.diags.has_errors()) out.value = std::move(trace);
  return out;
}

}  // namespace portmatrix
