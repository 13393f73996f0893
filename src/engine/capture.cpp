#include "portmatrix/capture.hpp"

#include <fmt/format.h>

#include "engine/bytes.hpp"
#include "engine/capture_impl.hpp"

namespace portmatrix {

std::string_view to_string(CaptureFormat f) { return f == CaptureFormat::pcap ? "pcap" : "pcapng"; }

std::string_view to_string(CaptureIssueKind k) {
  switch (k) {
    case CaptureIssueKind::truncated: return "truncated";
    case CaptureIssueKind::bad_record_length: return "bad-record-length";
    case CaptureIssueKind::caplen_over_snaplen: return "caplen-over-snaplen";
    case CaptureIssueKind::origlen_below_caplen: return "origlen-below-caplen";
    case CaptureIssueKind::bad_block_length: return "bad-block-length";
    case CaptureIssueKind::bad_block: return "bad-block";
    case CaptureIssueKind::unknown_interface: return "unknown-interface";
    case CaptureIssueKind::bad_section_header: return "bad-section-header";
    case CaptureIssueKind::count_: break;
  }
  return "unknown";
}

std::uint64_t CaptureStats::total_issues() const {
  std::uint64_t n = 0;
  for (auto c : issue_counts) n += c;
  return n;
}

void CaptureReader::Impl::truncated_at_end(std::uint64_t offset, std::size_t have, std::uint64_t need,
                                           const char* what) {
  issue(CaptureIssueKind::truncated, offset,
        fmt::format("file ends inside a {}: {} of {} bytes present", what, have, need));
  src.advance(src.available());
}

namespace {

constexpr std::uint32_t kPcapMicro = 0xa1b2c3d4, kPcapNano = 0xa1b23c4d, kPcapngShb = 0x0a0d0d0a;

Expected<std::unique_ptr<CaptureReader::Impl>> sniff_and_open(ByteSource src, std::string name) {
  if (!src.ensure(4)) {
    if (!src.read_error().empty()) return Error{Error::Kind::io, fmt::format("{}: read error: {}", name, src.read_error())};
    return Error{Error::Kind::input, fmt::format("{}: too short to be a capture file ({} bytes)", name, src.available())};
  }
  std::uint32_t magic = bytes::load_native<std::uint32_t>(src.data());
  if (magic == kPcapMicro || magic == kPcapNano || bytes::swap(magic) == kPcapMicro || bytes::swap(magic) == kPcapNano)
    return make_pcap_reader(std::move(src), std::move(name));
  if (magic == kPcapngShb) return make_pcapng_reader(std::move(src), std::move(name));
  return Error{Error::Kind::input, fmt::format("{}: not a pcap or pcapng file (magic {:08x})", name, bytes::be32(src.data()))};
}

}  // namespace

CaptureReader::CaptureReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CaptureReader::CaptureReader(CaptureReader&&) noexcept = default;
CaptureReader& CaptureReader::operator=(CaptureReader&&) noexcept = default;
CaptureReader::~CaptureReader() = default;

Expected<CaptureReader> CaptureReader::open(const std::string& path, CaptureOptions options) {
  auto src = ByteSource::open_file(path, options.buffer_size);
  if (!src) return src.error();
  auto impl = sniff_and_open(std::move(src.value()), path);
  if (!impl) return impl.error();
  return CaptureReader(std::move(impl.value()));
}

Expected<CaptureReader> CaptureReader::from_memory(std::span<const std::uint8_t> data, std::string name) {
  auto impl = sniff_and_open(ByteSource::memory(data), std::move(name));
  if (!impl) return impl.error();
  return CaptureReader(std::move(impl.value()));
}

bool CaptureReader::next(Frame& frame) {
  bool got = impl_->next(frame);
  impl_->stats.file_bytes = impl_->src.offset();
  if (got) {
    ++impl_->stats.frames;
    impl_->stats.frame_bytes += frame.caplen;
  }
  return got;
}

std::size_t CaptureReader::next_batch(std::span<Frame> frames) {
  std::size_t n = impl_->next_batch(frames.data(), frames.size());
  impl_->stats.file_bytes = impl_->src.offset();
  impl_->stats.frames += n;
  for (std::size_t i = 0; i < n; ++i) impl_->stats.frame_bytes += frames[i].caplen;
  return n;
}

CaptureFormat CaptureReader::format() const { return impl_->format; }
const std::string& CaptureReader::name() const { return impl_->name; }
const std::vector<CaptureInterface>& CaptureReader::interfaces() const { return impl_->interfaces; }
const CaptureStats& CaptureReader::stats() const { return impl_->stats; }

}  // namespace portmatrix
