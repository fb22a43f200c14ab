// SPDX-License-Identifier: Apache-2.0
// A RocksDB Env whose files and directories are private to the daemon's user:
// every file RocksDB creates is made 0600 and every directory 0700, like the
// slot file (cache metadata names other users' files and their fingerprints).
// RocksDB itself creates them with the process umask applied to 0644/0755.
#pragma once

#include <rocksdb/env.h>

#include <memory>
#include <string>

namespace wtcachefs {

// An Env over RocksDB's default file system that makes what it creates private.
// The Env must outlive every DB opened with it.
std::unique_ptr<rocksdb::Env> NewPrivateEnv();

// Makes `dir` 0700 and everything in it 0600 (files) or 0700 (directories):
// metadata written before files were created private.
void MakePrivate(const std::string& dir);

}  // namespace wtcachefs
