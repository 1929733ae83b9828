// Byte buffers for codecs: Buffer appends into inline storage and moves to the heap only when it
// outgrows it (so a typical FLOW_MOD encodes without allocating); ByteReader walks an untrusted
// span with every read bounds-checked. Big-endian (network order) helpers for both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vlcp {

using ByteSpan = std::span<const uint8_t>;

inline uint16_t load_be16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline uint64_t load_be64(const uint8_t* p) {
  return (uint64_t{load_be32(p)} << 32) | load_be32(p + 4);
}
inline void store_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void store_be32(uint8_t* p, uint32_t v) {
  store_be16(p, static_cast<uint16_t>(v >> 16));
  store_be16(p + 2, static_cast<uint16_t>(v));
}
inline void store_be64(uint8_t* p, uint64_t v) {
  store_be32(p, static_cast<uint32_t>(v >> 32));
  store_be32(p + 4, static_cast<uint32_t>(v));
}

// A growable byte buffer. Encoders take `Buffer&` and append; the storage it starts with is
// supplied by InlineBuffer<N> (or none, for a plain heap buffer).
class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() = default;

  const uint8_t* data() const { return data_; }
  uint8_t* data() { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  bool on_heap() const { return heap_ != nullptr; }
  ByteSpan span() const { return {data_, size_}; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }

  void clear() { size_ = 0; }
  void reserve(size_t n) {
    if (n > capacity_) grow(n);
  }
  // Appends n uninitialised bytes and returns where they start (valid until the next append).
  uint8_t* extend(size_t n) {
    reserve(size_ + n);
    uint8_t* p = data_ + size_;
    size_ += n;
    return p;
  }
  void resize(size_t n) {
    reserve(n);
    if (n > size_) std::memset(data_ + size_, 0, n - size_);
    size_ = n;
  }

  void append(ByteSpan bytes) {
    if (!bytes.empty()) std::memcpy(extend(bytes.size()), bytes.data(), bytes.size());
  }
  void append(std::string_view s) { append(ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size())); }
  void put_u8(uint8_t v) { *extend(1) = v; }
  void put_be16(uint16_t v) { store_be16(extend(2), v); }
  void put_be32(uint32_t v) { store_be32(extend(4), v); }
  void put_be64(uint64_t v) { store_be64(extend(8), v); }
  void put_zeros(size_t n) {
    if (n) std::memset(extend(n), 0, n);
  }
  // Pads with zeros up to the next multiple of `align` (OpenFlow's 8-byte rule).
  void pad_to(size_t align) { put_zeros((align - size_ % align) % align); }

  // Overwrites bytes already appended (for length fields known only at the end).
  void patch_be16(size_t offset, uint16_t v) { store_be16(data_ + offset, v); }
  void patch_be32(size_t offset, uint32_t v) { store_be32(data_ + offset, v); }

 protected:
  Buffer(uint8_t* inline_storage, size_t inline_capacity)
      : data_(inline_storage), capacity_(inline_capacity) {}

 private:
  void grow(size_t need) {
    size_t cap = capacity_ ? capacity_ : 64;
    while (cap < need) cap *= 2;
    auto fresh = std::make_unique<uint8_t[]>(cap);
    if (size_) std::memcpy(fresh.get(), data_, size_);
    heap_ = std::move(fresh);
    data_ = heap_.get();
    capacity_ = cap;
  }

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  std::unique_ptr<uint8_t[]> heap_;
};

// What `encode(Buffer&)` appends to a fresh buffer, as an owned vector (a message handed on).
template <typename Encode>
std::vector<uint8_t> encoded(Encode encode) {
  Buffer b;
  encode(b);
  return std::vector<uint8_t>(b.data(), b.data() + b.size());
}

// A Buffer whose first N bytes live inside the object (on the caller's stack).
template <size_t N>
class InlineBuffer final : public Buffer {
 public:
  InlineBuffer() : Buffer(storage_, N) {}

 private:
  alignas(8) uint8_t storage_[N];
};

// Reads an untrusted byte span front to back. Every read checks the remaining length first;
// a failed read returns false (or an empty span) and leaves the reader where it was.
class ByteReader {
 public:
  explicit ByteReader(ByteSpan bytes) : bytes_(bytes) {}

  size_t remaining() const { return bytes_.size() - pos_; }
  size_t position() const { return pos_; }
  bool at_end() const { return pos_ == bytes_.size(); }
  ByteSpan rest() const { return bytes_.subspan(pos_); }

  bool read_u8(uint8_t* v) {
    if (remaining() < 1) return false;
    *v = bytes_[pos_++];
    return true;
  }
  bool read_be16(uint16_t* v) { return read_fixed(v, 2, load_be16); }
  bool read_be32(uint32_t* v) { return read_fixed(v, 4, load_be32); }
  bool read_be64(uint64_t* v) { return read_fixed(v, 8, load_be64); }
  bool skip(size_t n) {
    if (remaining() < n) return false;
    pos_ += n;
    return true;
  }
  // The next n bytes as a view into the original span, or false when fewer remain.
  bool take(size_t n, ByteSpan* out) {
    if (remaining() < n) return false;
    *out = bytes_.subspan(pos_, n);
    pos_ += n;
    return true;
  }

 private:
  template <typename T, typename Load>
  bool read_fixed(T* v, size_t n, Load load) {
    if (remaining() < n) return false;
    *v = load(bytes_.data() + pos_);
    pos_ += n;
    return true;
  }

  ByteSpan bytes_;
  size_t pos_ = 0;
};

// "0a1b..." of the bytes; and back, accepting spaces, newlines and an optional "0x".
std::string to_hex(ByteSpan bytes);
bool from_hex(std::string_view text, Buffer& out);

}  // namespace vlcp
