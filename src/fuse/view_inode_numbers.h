// SPDX-License-Identifier: Apache-2.0
// View inode numbers: the st_ino the view shows for an origin object. All files
// of a FUSE mount share one st_dev, while ORIGIN may span several file systems
// (btrfs subvolumes and snapshots, which number their inodes afresh; a file
// system mounted inside ORIGIN). Showing origin's st_ino unchanged would give
// two objects one number, and find, du and tar take them for one file (or a
// directory loop). So the number is derived from origin's (st_dev, st_ino):
//
//  - On ORIGIN root's own file system (its st_dev at mount): origin's st_ino,
//    when it is below 2^63. A single-file-system origin shows its own numbers,
//    the view root's included.
//  - On any other file system: the device gets a number k in 1..2^15-1 from a
//    device table kept in the cache's metadata (DeviceNumberStore), given in
//    the order devices are first met and recorded durably before use; the
//    object shows 2^63 | k << 48 | st_ino, when st_ino is below 2^48.
//  - Anything else (a root-device st_ino of 2^63 or more, another device's of
//    2^48 or more, a device past the 2^15-1 the table holds, or one the table
//    could not record): 2^63 | (a 64-bit hash of (st_dev, st_ino) cut to 48
//    bits), its bits 48 to 62 zero.
//
// The three spaces are disjoint: the first has bit 63 clear; the second has it
// set and k (not 0) in bits 48..62; the hashed one has it set and those bits 0.
// Within the first two the number is injective by construction (a device has
// one k, and k and st_ino have fields of their own); only two hashed objects
// can share a number, which the InodeTable detects among the inodes the kernel
// knows and reports once. Hard links share (st_dev, st_ino), hence a number.
// Numbers are stable across remounts as long as origin's st_dev values are and
// the cache's metadata is kept; a device the table could not record is hashed
// for the rest of the mount, so a number never changes while mounted.
//
// Thread safety: the free functions are pure; ViewInodeNumbers may be used
// from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "wtcachefs/device_number_store.h"

namespace wtcachefs {

inline constexpr uint64_t kOtherDeviceBit = uint64_t{1} << 63;
inline constexpr int kDeviceNumberShift = 48;
// st_ino below this fits the device space; the hashed space keeps these bits.
inline constexpr uint64_t kDeviceInodeLimit = uint64_t{1} << kDeviceNumberShift;

// The 48-bit hashed number of (dev, ino): kOtherDeviceBit | hash, bits 48..62 zero.
uint64_t HashedViewInodeNumber(uint64_t dev, uint64_t ino);
// True for a number of the hashed space (the only one with collisions).
bool IsHashedViewInodeNumber(uint64_t number);

// How the numbers of one origin device show in the view.
struct ViewDevice {
  uint64_t dev = 0;
  bool is_root = false;  // ORIGIN root's own file system
  uint32_t number = 0;   // k in the device table; 0: none (hashed)

  // The view's number of object `ino` on this device.
  uint64_t InodeNumber(uint64_t ino) const;
};

// Keeps the device table of one mount: loads it from `store` (may be null: no
// table, every device but the root's hashed) at construction, and records a
// device met for the first time there before its number is used. `warn` (may
// be empty) is told when the table cannot be read or written, or is full.
class ViewInodeNumbers {
 public:
  ViewInodeNumbers(uint64_t root_dev, DeviceNumberStore* store,
                   std::function<void(const std::string&)> warn);
  ViewInodeNumbers(const ViewInodeNumbers&) = delete;
  ViewInodeNumbers& operator=(const ViewInodeNumbers&) = delete;

  // The numbering of device `dev`, given a number (recorded synchronously) if
  // it is met for the first time. Never fails: a device without a number is
  // hashed.
  ViewDevice Device(uint64_t dev);
  // The view's number of origin object (dev, ino).
  uint64_t Of(uint64_t dev, uint64_t ino) { return Device(dev).InodeNumber(ino); }

 private:
  // Gives `dev` a number (or none) and records it; `dev` is not in numbers_.
  ViewDevice Assign(uint64_t dev);
  void Warn(const std::string& message) const {
    if (warn_) warn_(message);
  }

  const uint64_t root_dev_;
  DeviceNumberStore* const store_;
  const std::function<void(const std::string&)> warn_;
  // Lock order: assign_mutex_, then table_mutex_. Lookups of known devices take
  // table_mutex_ only; assign_mutex_ is held across a record's write, so that a
  // device met by two threads at once gets one number.
  std::mutex assign_mutex_;
  bool store_usable_ = false;   // GUARDED_BY(assign_mutex_)
  uint32_t next_number_ = 1;    // GUARDED_BY(assign_mutex_)
  bool full_reported_ = false;  // GUARDED_BY(assign_mutex_)
  mutable std::mutex table_mutex_;
  // Every device met this mount (or loaded), with its number (0: hashed).
  std::unordered_map<uint64_t, uint32_t> numbers_;  // GUARDED_BY(table_mutex_)
};

}  // namespace wtcachefs
