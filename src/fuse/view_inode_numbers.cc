// SPDX-License-Identifier: Apache-2.0
#include "fuse/view_inode_numbers.h"

#include <sys/sysmacros.h>

#include <algorithm>
#include <cerrno>

namespace wtcachefs {
namespace {

// splitmix64's finalizer: a fixed function, so a hashed number is the same in
// every build and mount (std::hash promises neither).
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

std::string DeviceName(uint64_t dev) {
  return std::to_string(major(static_cast<dev_t>(dev))) + ":" +
         std::to_string(minor(static_cast<dev_t>(dev)));
}

constexpr char kHashedConsequence[] =
    "files on file systems other than ORIGIN's own show hashed inode numbers";

}  // namespace

uint64_t HashedViewInodeNumber(uint64_t dev, uint64_t ino) {
  return kOtherDeviceBit | (Mix(Mix(dev) ^ ino) & (kDeviceInodeLimit - 1));
}

bool IsHashedViewInodeNumber(uint64_t number) {
  return (number & kOtherDeviceBit) != 0 &&
         ((number & ~kOtherDeviceBit) >> kDeviceNumberShift) == 0;
}

uint64_t ViewDevice::InodeNumber(uint64_t ino) const {
  if (is_root) return ino < kOtherDeviceBit ? ino : HashedViewInodeNumber(dev, ino);
  if (number != 0 && number <= kMaxDeviceNumber && ino < kDeviceInodeLimit) {
    return kOtherDeviceBit | uint64_t{number} << kDeviceNumberShift | ino;
  }
  return HashedViewInodeNumber(dev, ino);
}

ViewInodeNumbers::ViewInodeNumbers(uint64_t root_dev, DeviceNumberStore* store,
                                   std::function<void(const std::string&)> warn)
    : root_dev_(root_dev), store_(store), warn_(std::move(warn)) {
  if (store_ == nullptr) return;
  auto loaded = store_->LoadDeviceNumbers();
  if (!loaded.ok()) {
    Warn("cannot read the view's device numbers from the cache's metadata (" +
         loaded.status().message() + "): " + kHashedConsequence +
         " this mount, which may differ from the last mount's" +
         (loaded.status().error() == EUCLEAN ? "; --reset-cache starts the table afresh" : ""));
    return;
  }
  std::unordered_map<uint32_t, uint64_t> device_of_number;
  uint32_t highest = 0;
  for (const DeviceNumberRecord& record : loaded.value()) {
    const bool unique = device_of_number.emplace(record.number, record.dev).second;
    if (!unique || record.number == 0 || record.number > kMaxDeviceNumber) {
      Warn("the view's device numbers in the cache's metadata are damaged (number " +
           std::to_string(record.number) + " of device " + DeviceName(record.dev) +
           "): " + kHashedConsequence + " this mount; --reset-cache starts the table afresh");
      return;
    }
    highest = std::max(highest, record.number);
  }
  std::lock_guard assign(assign_mutex_);
  std::lock_guard table(table_mutex_);
  for (const DeviceNumberRecord& record : loaded.value()) numbers_[record.dev] = record.number;
  next_number_ = highest + 1;
  store_usable_ = true;
}

ViewDevice ViewInodeNumbers::Device(uint64_t dev) {
  if (dev == root_dev_) return ViewDevice{dev, true, 0};
  {
    std::lock_guard table(table_mutex_);
    const auto known = numbers_.find(dev);
    if (known != numbers_.end()) return ViewDevice{dev, false, known->second};
  }
  return Assign(dev);
}

ViewDevice ViewInodeNumbers::Assign(uint64_t dev) {
  ViewDevice device{dev, false, 0};
  std::string warning;
  {
    std::lock_guard assign(assign_mutex_);
    {
      std::lock_guard table(table_mutex_);
      const auto known = numbers_.find(dev);
      if (known != numbers_.end()) return ViewDevice{dev, false, known->second};  // met meanwhile
    }
    if (store_usable_ && next_number_ > kMaxDeviceNumber) {
      if (!full_reported_) {
        full_reported_ = true;
        warning = "the view has numbered " + std::to_string(kMaxDeviceNumber) +
                  " origin file systems, as many as it can: files on file system " +
                  DeviceName(dev) + " and on any met later show hashed inode numbers";
      }
    } else if (store_usable_) {
      // Durable before any number of the device is shown: a remount must not
      // give the device another number.
      const Status recorded = store_->RecordDeviceNumber(DeviceNumberRecord{dev, next_number_});
      if (recorded.ok()) {
        device.number = next_number_++;
      } else {
        warning = "cannot record the view's number of origin file system " + DeviceName(dev) +
                  " in the cache's metadata (" + recorded.message() +
                  "): its files show hashed inode numbers for the rest of this mount";
      }
    }
    std::lock_guard table(table_mutex_);
    numbers_.emplace(dev, device.number);
  }
  if (!warning.empty()) Warn(warning);
  return device;
}

}  // namespace wtcachefs
