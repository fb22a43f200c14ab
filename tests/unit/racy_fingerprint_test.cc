// SPDX-License-Identifier: Apache-2.0
// Racily clean fingerprints (engine/racy_fingerprint.h): which fingerprints
// cannot vouch for content captured when they were taken.
#include "engine/racy_fingerprint.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace wtcachefs {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

Fingerprint At(int64_t mtime_ns, int64_t ctime_ns) {
  return Fingerprint{.dev = 1, .ino = 2, .size = 4096, .mtime_ns = mtime_ns, .ctime_ns = ctime_ns};
}

TEST(RacyFingerprint, WholeSecondTimestampsAreCoarse) {
  EXPECT_TRUE(HasCoarseTimestamps(At(1000 * kSecond, 1000 * kSecond)));
  EXPECT_TRUE(HasCoarseTimestamps(At(998 * kSecond, 1001 * kSecond)));
  // A file whose mtime was set to whole seconds (tar, touch -d) but whose
  // ctime the file system stamped finely.
  EXPECT_FALSE(HasCoarseTimestamps(At(1000 * kSecond, 1000 * kSecond + 123)));
  EXPECT_FALSE(HasCoarseTimestamps(At(1000 * kSecond + 4'000'000, 1000 * kSecond)));
}

TEST(RacyFingerprint, FineTimestampsAreNeverRacy) {
  const Fingerprint fine = At(1000 * kSecond + 5, 1000 * kSecond + 5);
  EXPECT_FALSE(IsRacy(fine, 1000 * kSecond + 6));
  EXPECT_FALSE(IsRacy(fine, 999 * kSecond));  // even with the clock behind
}

TEST(RacyFingerprint, CoarseFingerprintIsRacyUntilItsTickAndTheSkewAreOver) {
  // Ticks of two seconds from even seconds (FAT's), then one second of skew.
  const Fingerprint odd = At(1001 * kSecond, 1001 * kSecond);  // tick [1000, 1002)
  EXPECT_TRUE(IsRacy(odd, 1001 * kSecond));
  EXPECT_TRUE(IsRacy(odd, 1001 * kSecond + 999'999'999));
  EXPECT_TRUE(IsRacy(odd, 1002 * kSecond + 999'999'999));
  EXPECT_FALSE(IsRacy(odd, 1003 * kSecond));
  const Fingerprint even = At(1000 * kSecond, 1000 * kSecond);  // tick [1000, 1002)
  EXPECT_TRUE(IsRacy(even, 1002 * kSecond + 500'000'000));
  EXPECT_FALSE(IsRacy(even, 1003 * kSecond));
}

TEST(RacyFingerprint, TheLaterTimestampDecides) {
  const Fingerprint changed_later = At(900 * kSecond, 1001 * kSecond);
  EXPECT_TRUE(IsRacy(changed_later, 1002 * kSecond));
  EXPECT_FALSE(IsRacy(changed_later, 1003 * kSecond));
}

TEST(RacyFingerprint, AnOriginClockAheadOfOursIsRacyLonger) {
  // Stamped "in the future" by a server whose clock runs ahead.
  EXPECT_TRUE(IsRacy(At(1010 * kSecond, 1010 * kSecond), 1005 * kSecond));
}

TEST(RacyFingerprint, ASmudgedFingerprintMatchesNoStat) {
  const Fingerprint real = At(1000 * kSecond, 1000 * kSecond);
  const Fingerprint smudged = Smudged(real);
  EXPECT_NE(smudged, real);
  EXPECT_EQ(smudged.dev, real.dev);
  EXPECT_EQ(smudged.ino, real.ino);
  EXPECT_EQ(smudged.size, real.size);
  EXPECT_LT(smudged.ctime_ns, 0);  // before 1970: no stat reports it
}

TEST(RacyFingerprint, TheOriginClockIsTheWallClock) {
  const int64_t now = OriginClockNs();
  EXPECT_GT(now, int64_t{1'600'000'000} * kSecond);  // after 2020
}

}  // namespace
}  // namespace wtcachefs
