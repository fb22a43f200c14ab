// SPDX-License-Identifier: Apache-2.0
// A network origin for integration tests: OpenSSH's sftp server on 127.0.0.1
// and sshfs mounts of its directories, as users mount a remote tree.
//
// SftpServer runs its own sshd (Debian's openssh-server) in the foreground on
// a free port of 127.0.0.1, with a host key, a client key and an
// authorized_keys file of its own in a temporary directory, and the internal
// sftp server; it is stopped on destruction. Nothing of the system's ssh set-up
// is used or changed, except that sshd's privilege separation directory
// (/run/sshd) is created when missing, as Debian's ssh service does at start.
//
// SshfsMount mounts a directory of the server with sshfs (as root, the key
// above, allow_other) with sshfs's defaults plus `dir_cache=no`: a tree that
// other clients change is mounted without sshfs's own 20-second cache of
// names and attributes, or every client, with or without wtcachefs, sees
// changes up to 20 s late. It unmounts on destruction, even when a test failed.
//
// Thread safety: none; one test thread owns them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/temp_dir.h"

namespace wtcachefs::testing {

class SftpServer {
 public:
  SftpServer();
  ~SftpServer();
  SftpServer(const SftpServer&) = delete;
  SftpServer& operator=(const SftpServer&) = delete;

  // False when sshd could not be started; skip_reason() says why.
  bool ok() const { return daemon_ != nullptr; }
  const std::string& skip_reason() const { return skip_reason_; }
  int port() const { return port_; }
  const std::string& client_key() const { return client_key_; }

 private:
  bool Start();

  TempDir dir_;
  std::string client_key_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> daemon_;
  std::string skip_reason_;
};

class SshfsMount {
 public:
  // Mounts the server's `remote_dir` (an absolute path on this machine) at
  // `mount_point` (an existing empty directory); `extra_options` are added to
  // sshfs's -o list.
  SshfsMount(const SftpServer& server, std::string remote_dir, std::string mount_point,
             const std::vector<std::string>& extra_options = {});
  ~SshfsMount();
  SshfsMount(const SshfsMount&) = delete;
  SshfsMount& operator=(const SshfsMount&) = delete;

  bool ok() const { return mounted_; }
  const std::string& failure() const { return failure_; }
  const std::string& path() const { return mount_point_; }

 private:
  std::string mount_point_;
  std::unique_ptr<ChildProcess> sshfs_;
  bool mounted_ = false;
  std::string failure_;
};

}  // namespace wtcachefs::testing
