// SPDX-License-Identifier: Apache-2.0
// The input layout of fuzz_meta_records, shared with the seed generator
// (make_meta_seeds.cc): one byte that picks the record kind, then the record.
// A mapping's record is one byte that picks the block size, one byte with the
// key's length, the key, and the value; a device number's is one byte with the
// key's length, the key, and the value.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wtcachefs {

enum class MetaRecordKind : uint8_t {
  kSuperblock = 0,
  kFileRecord = 1,
  kMapping = 2,
  kByteCodec = 3,     // a script of ByteReader reads, then the bytes read
  kEncodeDecode = 4,  // fields of each record, encoded and decoded back
  kDeviceNumber = 5,
  kWriteLease = 6,  // the record's value
};
inline constexpr uint8_t kMetaRecordKinds = 7;

struct MappingInput {
  uint32_t sectors_per_block = 1;  // 1 to 1024: a 4 KiB to 4 MiB block
  std::string_view key;
  std::string_view value;
};

inline MappingInput SplitMappingInput(std::string_view rest) {
  MappingInput input;
  if (!rest.empty()) {
    input.sectors_per_block = 1u << (static_cast<uint8_t>(rest[0]) % 11);
    rest.remove_prefix(1);
  }
  size_t key_length = 0;
  if (!rest.empty()) {
    key_length = static_cast<uint8_t>(rest[0]);
    rest.remove_prefix(1);
  }
  input.key = rest.substr(0, key_length);
  input.value = rest.substr(input.key.size());
  return input;
}

// The inverse of SplitMappingInput, for the seed generator.
inline std::string JoinMappingInput(uint8_t block_size_log2_minus_12, std::string_view key,
                                    std::string_view value) {
  std::string rest(1, static_cast<char>(block_size_log2_minus_12));
  rest.push_back(static_cast<char>(key.size()));
  rest.append(key);
  rest.append(value);
  return rest;
}

struct KeyValueInput {
  std::string_view key;
  std::string_view value;
};

// A device number record: the key's length, the key, the value.
inline KeyValueInput SplitDeviceNumberInput(std::string_view rest) {
  size_t key_length = 0;
  if (!rest.empty()) {
    key_length = static_cast<uint8_t>(rest[0]);
    rest.remove_prefix(1);
  }
  KeyValueInput input;
  input.key = rest.substr(0, key_length);
  input.value = rest.substr(input.key.size());
  return input;
}

// The inverse of SplitDeviceNumberInput, for the seed generator.
inline std::string JoinDeviceNumberInput(std::string_view key, std::string_view value) {
  std::string rest(1, static_cast<char>(key.size()));
  rest.append(key);
  rest.append(value);
  return rest;
}

}  // namespace wtcachefs
