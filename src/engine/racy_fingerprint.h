// SPDX-License-Identifier: Apache-2.0
// Racily clean fingerprints (DESIGN W6; Git's Documentation/technical/racy-git.txt).
//
// A fingerprint (size, mtime, ctime) shows a change only when the change moves
// a timestamp. On an origin whose timestamps are coarse (SFTP's whole seconds,
// FAT's two seconds, ext3) a change made in the same tick as the one the
// fingerprint carries, at the same size, leaves it as it was. So a fingerprint
// vouches only for bytes captured (read from origin, or written to it) after
// its timestamps' tick has ended: any change after that carries a later time.
// A fingerprint recorded before then is *racy*: the cache content captured
// under it stays unvouched until a comparison taken after the tick drops it.
//
// Timestamps are coarse when both mtime and ctime have no sub-second part. A
// tick is then taken as two seconds aligned to even seconds (which covers
// whole seconds and FAT's two), plus kOriginClockSkewNs for an origin server
// whose clock runs ahead of this one. Fine timestamps (ext4, XFS, btrfs, tmpfs:
// nanoseconds, and a change after a stat gets a new ctime) are never racy.
#pragma once

#include <cstdint>

#include "wtcachefs/meta_records.h"

namespace wtcachefs {

// How far the origin's clock may lag this machine's and still have racy
// fingerprints recognised as such (network origins: NTP keeps far closer).
inline constexpr int64_t kOriginClockSkewNs = 1'000'000'000;

// Wall-clock nanoseconds (CLOCK_REALTIME): the clock origin stamps files with.
// Read it before the stat whose fingerprint it dates.
int64_t OriginClockNs();

// True when neither mtime nor ctime has a sub-second part.
bool HasCoarseTimestamps(const Fingerprint& fingerprint);

// True when a fingerprint taken at `taken_ns` (OriginClockNs() before the
// stat) cannot vouch for content captured at or after `taken_ns`: its
// timestamps are coarse and their tick, plus the clock skew, had not ended.
bool IsRacy(const Fingerprint& fingerprint, int64_t taken_ns);

// The fingerprint a racy record is persisted with: equal to no stat of any
// file (Git smudges racily clean index entries the same way), so that the
// first comparison after a restart drops what the record's blocks hold.
Fingerprint Smudged(Fingerprint fingerprint);

}  // namespace wtcachefs
