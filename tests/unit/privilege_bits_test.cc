// SPDX-License-Identifier: Apache-2.0
// The setuid/setgid rule a data change applies (engine/privilege_bits.h), case by
// case as Linux 6.x's setattr_should_drop_suidgid decides it for ext4.
#include "engine/privilege_bits.h"

#include <gtest/gtest.h>

namespace wtcachefs {
namespace {

constexpr bool kPrivileged = true;
constexpr bool kUnprivileged = false;
constexpr bool kInGroup = true;
constexpr bool kNotInGroup = false;

TEST(PrivilegeBits, SetuidGoesForEveryUnprivilegedCaller) {
  EXPECT_EQ(PrivilegeBitsToDrop(S_IFREG | 04766, kUnprivileged, kInGroup), S_ISUID);
  EXPECT_EQ(PrivilegeBitsToDrop(S_IFREG | 04766, kUnprivileged, kNotInGroup), S_ISUID);
}

TEST(PrivilegeBits, SetgidWithoutGroupExecGoesOnlyForACallerOutsideTheGroup) {
  EXPECT_EQ(PrivilegeBitsToDrop(S_IFREG | 02666, kUnprivileged, kNotInGroup), S_ISGID);
  EXPECT_EQ(PrivilegeBitsToDrop(S_IFREG | 02666, kUnprivileged, kInGroup), 0u);
  EXPECT_EQ(PrivilegeBitsToDrop(S_IFREG | 06666, kUnprivileged, kInGroup), S_ISUID);
}

TEST(PrivilegeBits, SetgidWithGroupExecGoesForEveryUnprivilegedCaller) {
  EXPECT_EQ(PrivilegeBitsToDrop(S_IFREG | 02676, kUnprivileged, kInGroup), S_ISGID);
  EXPECT_EQ(PrivilegeBitsToDrop(S_IFREG | 06777, kUnprivileged, kInGroup), S_ISUID | S_ISGID);
}

TEST(PrivilegeBits, APrivilegedCallerKeepsBoth) {
  EXPECT_EQ(PrivilegeBitsToDrop(S_IFREG | 06777, kPrivileged, kNotInGroup), 0u);
  EXPECT_EQ(PrivilegeBitsToDrop(S_IFREG | 02666, kPrivileged, kNotInGroup), 0u);
}

TEST(PrivilegeBits, OnlyRegularFilesLoseThem) {
  EXPECT_EQ(PrivilegeBitsToDrop(S_IFBLK | 06777, kUnprivileged, kNotInGroup), 0u);
  EXPECT_EQ(PrivilegeBitsToDrop(S_IFDIR | 02777, kUnprivileged, kNotInGroup), 0u);
}

TEST(PrivilegeBits, AFileWithoutThemLosesNothing) {
  EXPECT_EQ(PrivilegeBitsToDrop(S_IFREG | 0777, kUnprivileged, kNotInGroup), 0u);
  EXPECT_EQ(PrivilegeBitsToDrop(S_IFREG | 01777, kUnprivileged, kNotInGroup), 0u);
}

}  // namespace
}  // namespace wtcachefs
