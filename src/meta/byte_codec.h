// SPDX-License-Identifier: Apache-2.0
// Big-endian fixed-width encoding for metadata records. Big-endian keeps RocksDB's
// bytewise key order equal to numeric order.
//
// Thread safety: single-owner values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wtcachefs {

class ByteWriter {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { Fixed(v, 4); }
  void U64(uint64_t v) { Fixed(v, 8); }
  void Bytes(std::string_view bytes) { out_.append(bytes); }
  std::string Take() { return std::move(out_); }

 private:
  void Fixed(uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

// Each read returns false (and consumes nothing) when too few bytes remain.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  bool U8(uint8_t& v) {
    uint64_t wide;
    if (!Fixed(1, wide)) return false;
    v = static_cast<uint8_t>(wide);
    return true;
  }
  bool U32(uint32_t& v) {
    uint64_t wide;
    if (!Fixed(4, wide)) return false;
    v = static_cast<uint32_t>(wide);
    return true;
  }
  bool U64(uint64_t& v) { return Fixed(8, v); }
  bool Bytes(size_t n, std::string_view& out) {
    if (in_.size() < n) return false;
    out = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  bool AtEnd() const { return in_.empty(); }

 private:
  bool Fixed(size_t width, uint64_t& v) {
    if (in_.size() < width) return false;
    v = 0;
    for (size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(width);
    return true;
  }
  std::string_view in_;
};

}  // namespace wtcachefs
