// Little-endian byte writer and bounds-checked reader for the .bin format and the instruction stream.
// Every read checks the remaining length first and throws Error(Artifact) naming the context on overrun.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"

namespace bpu {

class ByteWriter {
 public:
  void u8(uint8_t v) { buf_.push_back(v); }
  void u16(uint16_t v) { put(&v, 2); }
  void u32(uint32_t v) { put(&v, 4); }
  void i32(int32_t v) { put(&v, 4); }
  void u64(uint64_t v) { put(&v, 8); }
  void i64(int64_t v) { put(&v, 8); }
  void f32(float v) { put(&v, 4); }
  void bytes(const void* p, size_t n) { put(p, n); }
  void str(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    put(s.data(), s.size());
  }
  void align(size_t a) {
    while (buf_.size() % a) buf_.push_back(0);
  }
  size_t size() const { return buf_.size(); }
  std::vector<uint8_t>& data() { return buf_; }
  void patch_u32(size_t at, uint32_t v) { std::memcpy(buf_.data() + at, &v, 4); }
  void patch_u64(size_t at, uint64_t v) { std::memcpy(buf_.data() + at, &v, 8); }

 private:
  void put(const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
  }
  std::vector<uint8_t> buf_;  // host is little-endian (checked at configure time)
};

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size, std::string context)
      : data_(data), size_(size), context_(std::move(context)) {}
  uint8_t u8() { return get<uint8_t>(); }
  uint16_t u16() { return get<uint16_t>(); }
  uint32_t u32() { return get<uint32_t>(); }
  int32_t i32() { return get<int32_t>(); }
  uint64_t u64() { return get<uint64_t>(); }
  int64_t i64() { return get<int64_t>(); }
  float f32() { return get<float>(); }
  // A length-prefixed string of at most max_len bytes.
  std::string str(uint32_t max_len = 4096) {
    uint32_t n = u32();
    if (n > max_len) fail("string length " + std::to_string(n) + " exceeds " + std::to_string(max_len));
    need(n);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  const uint8_t* take(size_t n) {
    need(n);
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  bool at_end() const { return pos_ == size_; }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ExitCode::Artifact, context_ + " at byte " + std::to_string(pos_) + ": " + what);
  }

 private:
  void need(size_t n) const {
    if (n > size_ - pos_) {
      fail("needs " + std::to_string(n) + " more bytes but only " + std::to_string(size_ - pos_) + " remain");
    }
  }
  template <typename T>
  T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string context_;
};

}  // namespace bpu
