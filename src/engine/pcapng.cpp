// pcapng: a sequence of sections, each a Section Header Block (which fixes the
// section's byte order) followed by blocks of type, total length, body, total
// length. Interfaces are described by IDBs and numbered per section; packets come
// in enhanced (EPB), simple (SPB) and obsolete (OPB) packet blocks. Unknown block
// types are skipped. A block whose length is invalid makes the rest of its section
// unreadable, so the reader scans forward for the next section header.
#include <fmt/format.h>

#include "engine/bytes.hpp"
#include "portmatrix/address.hpp"
#include "engine/capture_impl.hpp"

namespace portmatrix {

namespace {

constexpr std::uint32_t kShb = 0x0a0d0d0a, kIdb = 1, kOpb = 2, kSpb = 3, kEpb = 6;
constexpr std::uint32_t kByteOrderMagic = 0x1a2b3c4d;
constexpr std::size_t kMinShb = 28, kBlockOverhead = 12;
// More interfaces than this in one file is damage, not a capture.
constexpr std::size_t kMaxInterfaces = 65536;

// Option codes in an IDB.
constexpr std::uint16_t kOptEnd = 0, kIfName = 2, kIfTsresol = 9, kIfTsoffset = 14;

struct Clock {
  std::uint8_t tsresol = 6;     // if_tsresol: 10^-n seconds, or 2^-n when the top bit is set
  std::int64_t offset_s = 0;    // if_tsoffset, added to every timestamp
};

// Timestamps in damaged files can be anything: the arithmetic is unsigned (wrapping)
// so no input is undefined behaviour.
std::int64_t to_ns(std::uint64_t units, const Clock& c) {
  std::uint64_t ns;
  if (c.tsresol & 0x80) {
    unsigned shift = c.tsresol & 0x7f;
    ns = static_cast<std::uint64_t>((static_cast<u128>(units) * 1000000000u) >> shift);
  } else if (c.tsresol <= 9) {
    std::uint64_t mul = 1;
    for (int i = c.tsresol; i < 9; ++i) mul *= 10;
    ns = units * mul;
  } else {
    std::uint64_t div = 1;
    for (int i = 9; i < c.tsresol && div <= UINT64_MAX / 10; ++i) div *= 10;
    ns = units / div;
  }
  return static_cast<std::int64_t>(ns + static_cast<std::uint64_t>(c.offset_s) * 1000000000u);
}

class PcapngReader final : public CaptureReader::Impl {
 public:
  PcapngReader(ByteSource s, std::string n) : Impl(std::move(s), std::move(n), CaptureFormat::pcapng) {}

  Status read_first_section() {
    std::uint64_t off = src.offset();
    std::string why;
    if (!start_section(why)) return Error{Error::Kind::input, fmt::format("{}: bad pcapng section header at offset {}: {}", name, off, why)};
    return std::nullopt;
  }

  bool next(Frame& f) override {
    for (;;) {
      if (!in_section_ && !find_section()) return false;
      if (!src.ensure(8)) {
        if (src.available() > 0) truncated_at_end(src.offset(), src.available(), 8, "block header");
        return false;
      }
      std::uint64_t off = src.offset();
      std::uint32_t type = bytes::load<std::uint32_t>(src.data(), swapped_);
      if (type == kShb) {
        std::string why;
        if (!start_section(why)) {
          issue(CaptureIssueKind::bad_section_header, off, why);
          lose_section(off);
        }
        continue;
      }
      std::uint32_t len = bytes::load<std::uint32_t>(src.data() + 4, swapped_);
      if (len < kBlockOverhead || len % 4 != 0 || len > kMaxBlockSize) {
        issue(CaptureIssueKind::bad_block_length, off, fmt::format("block type {:#x} has length {}", type, len));
        lose_section(off);
        continue;
      }
      if (!src.ensure(len)) {
        truncated_at_end(off, src.available(), len, "block");
        return false;
      }
      const std::uint8_t* b = src.data();
      if (bytes::load<std::uint32_t>(b + len - 4, swapped_) != len) {
        issue(CaptureIssueKind::bad_block_length, off,
              fmt::format("block type {:#x}: trailing length {} differs from {}", type,
                          bytes::load<std::uint32_t>(b + len - 4, swapped_), len));
        lose_section(off);
        continue;
      }
      bool got = false;
      switch (type) {
        case kIdb: add_interface(b, len, off); break;
        case kEpb: got = packet(b, len, off, f, /*obsolete=*/false); break;
        case kOpb: got = packet(b, len, off, f, /*obsolete=*/true); break;
        case kSpb: got = simple_packet(b, len, off, f); break;
        default: ++stats.skipped_blocks; break;
      }
      src.advance(len);
      if (got) return true;
    }
  }

 private:
  std::uint16_t u16(const std::uint8_t* p) const { return bytes::load<std::uint16_t>(p, swapped_); }
  std::uint32_t u32(const std::uint8_t* p) const { return bytes::load<std::uint32_t>(p, swapped_); }

  // Reads the SHB at the cursor; on success the cursor is past it and a new section has begun.
  bool start_section(std::string& why) {
    if (!src.ensure(12)) {
      why = "cut short";
      return false;
    }
    std::uint32_t bom = bytes::load_native<std::uint32_t>(src.data() + 8);
    bool sw;
    if (bom == kByteOrderMagic) {
      sw = false;
    } else if (bytes::swap(bom) == kByteOrderMagic) {
      sw = true;
    } else {
      why = fmt::format("byte-order magic {:08x} is neither order of 1a2b3c4d", bom);
      return false;
    }
    std::uint32_t len = bytes::load<std::uint32_t>(src.data() + 4, sw);
    if (len < kMinShb || len % 4 != 0 || len > kMaxBlockSize) {
      why = fmt::format("section header length {}", len);
      return false;
    }
    if (!src.ensure(len)) {
      why = fmt::format("cut short: {} of {} bytes", src.available(), len);
      return false;
    }
    const std::uint8_t* b = src.data();
    if (bytes::load<std::uint32_t>(b + len - 4, sw) != len) {
      why = "trailing length differs";
      return false;
    }
    std::uint16_t major = bytes::load<std::uint16_t>(b + 12, sw);
    if (major != 1) {
      why = fmt::format("unsupported version {}", major);
      return false;
    }
    swapped_ = sw;
    in_section_ = true;
    section_ = sections_++;
    section_first_if_ = interfaces.size();
    src.advance(len);
    return true;
  }

  // The section cannot be read on from off: look for the next one after it.
  void lose_section(std::uint64_t off) {
    in_section_ = false;
    src.advance(static_cast<std::size_t>(off + 1 - src.offset()));
    stats.skipped_bytes += 1;
  }

  // Scans for the next SHB magic and starts that section; false at the end of the file.
  bool find_section() {
    for (;;) {
      while (src.ensure(4)) {
        if (bytes::load_native<std::uint32_t>(src.data()) == kShb) break;
        src.advance(1);
        ++stats.skipped_bytes;
      }
      if (!src.ensure(4)) {
        stats.skipped_bytes += src.available();
        src.advance(src.available());
        return false;
      }
      std::string why;
      if (start_section(why)) return true;
      // A magic inside packet data, or a damaged header: keep scanning after it.
      src.advance(1);
      ++stats.skipped_bytes;
    }
  }

  void add_interface(const std::uint8_t* b, std::uint32_t len, std::uint64_t off) {
    if (len < kBlockOverhead + 8) {
      issue(CaptureIssueKind::bad_block, off, fmt::format("interface description block of {} bytes", len));
      return;
    }
    if (interfaces.size() >= kMaxInterfaces) {
      issue(CaptureIssueKind::bad_block, off, "too many interfaces");
      return;
    }
    CaptureInterface itf;
    itf.linktype = u16(b + 8);
    itf.snaplen = u32(b + 12);
    itf.section = section_;
    Clock clock;
    const std::uint8_t* p = b + 16;
    const std::uint8_t* end = b + len - 4;
    while (end - p >= 4) {
      std::uint16_t code = u16(p), olen = u16(p + 2);
      std::size_t padded = (std::size_t(olen) + 3) & ~std::size_t(3);
      if (code == kOptEnd) break;
      if (std::size_t(end - p - 4) < padded) {
        issue(CaptureIssueKind::bad_block, off, fmt::format("interface option {} overruns its block", code));
        break;
      }
      const std::uint8_t* v = p + 4;
      if (code == kIfName) itf.name.assign(reinterpret_cast<const char*>(v), olen);
      if (code == kIfTsresol && olen == 1) clock.tsresol = v[0];
      if (code == kIfTsoffset && olen == 8) clock.offset_s = static_cast<std::int64_t>(bytes::load<std::uint64_t>(v, swapped_));
      p += 4 + padded;
    }
    interfaces.push_back(std::move(itf));
    clocks_.push_back(clock);
  }

  // Resolves a section-local interface id; false (and an issue) when there is no such interface.
  bool interface_of(std::uint32_t id, std::uint64_t off, std::size_t& index) {
    if (id >= interfaces.size() - section_first_if_) {
      issue(CaptureIssueKind::unknown_interface, off, fmt::format("packet names interface {} of {}", id, interfaces.size() - section_first_if_));
      return false;
    }
    index = section_first_if_ + id;
    return true;
  }

  bool packet(const std::uint8_t* b, std::uint32_t len, std::uint64_t off, Frame& f, bool obsolete) {
    if (len < kBlockOverhead + 20) {
      issue(CaptureIssueKind::bad_block, off, fmt::format("packet block of {} bytes", len));
      return false;
    }
    std::uint32_t id = obsolete ? u16(b + 8) : u32(b + 8);
    std::uint64_t units = std::uint64_t(u32(b + 12)) << 32 | u32(b + 16);
    std::uint32_t caplen = u32(b + 20), origlen = u32(b + 24);
    if (caplen > len - kBlockOverhead - 20) {
      issue(CaptureIssueKind::bad_block, off, fmt::format("caplen {} exceeds the {}-byte block", caplen, len));
      return false;
    }
    std::size_t itf;
    if (!interface_of(id, off, itf)) return false;
    if (origlen < caplen) issue(CaptureIssueKind::origlen_below_caplen, off, fmt::format("origlen {} below caplen {}", origlen, caplen));
    f.data = b + 28;
    f.caplen = caplen;
    f.origlen = origlen < caplen ? caplen : origlen;
    f.ts_ns = to_ns(units, clocks_[itf]);
    f.linktype = interfaces[itf].linktype;
    f.interface = static_cast<std::uint32_t>(itf);
    f.offset = off;
    last_ts_ = f.ts_ns;
    return true;
  }

  // An SPB has no interface id (always the section's first) and no timestamp: it
  // gets the previous packet's time so that timeouts do not fire on it.
  bool simple_packet(const std::uint8_t* b, std::uint32_t len, std::uint64_t off, Frame& f) {
    if (len < kBlockOverhead + 4) {
      issue(CaptureIssueKind::bad_block, off, fmt::format("simple packet block of {} bytes", len));
      return false;
    }
    std::size_t itf;
    if (!interface_of(0, off, itf)) return false;
    std::uint32_t origlen = u32(b + 8);
    std::uint32_t caplen = len - kBlockOverhead - 4;
    if (origlen < caplen) caplen = origlen;
    std::uint32_t snap = interfaces[itf].snaplen;
    if (snap != 0 && caplen > snap) caplen = snap;
    f.data = b + 12;
    f.caplen = caplen;
    f.origlen = origlen;
    f.ts_ns = last_ts_;
    f.linktype = interfaces[itf].linktype;
    f.interface = static_cast<std::uint32_t>(itf);
    f.offset = off;
    return true;
  }

  bool swapped_ = false;
  bool in_section_ = false;
  std::uint32_t section_ = 0;   // index of the current section
  std::uint32_t sections_ = 0;  // sections started so far
  std::size_t section_first_if_ = 0;
  std::vector<Clock> clocks_;  // parallel to interfaces
  std::int64_t last_ts_ = 0;
};

}  // namespace

Expected<std::unique_ptr<CaptureReader::Impl>> make_pcapng_reader(ByteSource src, std::string name) {
  auto r = std::make_unique<PcapngReader>(std::move(src), std::move(name));
  if (auto err = r->read_first_section()) return *err;
  return std::unique_ptr<CaptureReader::Impl>(std::move(r));
}

}  // namespace portmatrix
