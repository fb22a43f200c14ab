// SPDX-License-Identifier: Apache-2.0
#include "support/sftp_origin.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <thread>

namespace wtcachefs::testing {
namespace {

constexpr const char* kSshd = "/usr/sbin/sshd";

// A port of 127.0.0.1 that nothing listens on now (0 when none was found).
int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

// True once something accepts connections on 127.0.0.1:`port`.
bool Listening(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return connected;
}

}  // namespace

SftpServer::SftpServer() {
  if (::access(kSshd, X_OK) != 0) {
    skip_reason_ =
        std::string(kSshd) + " is missing: install openssh-server (scripts/install-deps.sh does)";
    return;
  }
  if (::access("/usr/bin/sshfs", X_OK) != 0) {
    skip_reason_ = "/usr/bin/sshfs is missing: install sshfs (scripts/install-deps.sh does)";
    return;
  }
  // Another test may take the port between the probe and sshd's bind: retry.
  for (int attempt = 0; attempt < 5 && !daemon_; ++attempt) {
    if (!Start()) return;
  }
}

SftpServer::~SftpServer() {
  if (daemon_) {
    daemon_->Signal(SIGTERM);
    daemon_->Wait(std::chrono::seconds(5));
  }
}

bool SftpServer::Start() {
  const std::string host_key = dir_.path() + "/host_key";
  client_key_ = dir_.path() + "/client_key";
  if (::access(host_key.c_str(), F_OK) != 0) {
    for (const std::string& key : {host_key, client_key_}) {
      const CommandResult made =
          RunCommand({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key});
      if (made.exit_code != 0) {
        skip_reason_ = "ssh-keygen failed: " + made.err;
        return false;
      }
    }
    const CommandResult copied =
        RunCommand({"cp", client_key_ + ".pub", dir_.path() + "/authorized_keys"});
    if (copied.exit_code != 0) {
      skip_reason_ = "cannot write authorized_keys: " + copied.err;
      return false;
    }
  }
  // sshd's privilege separation directory, which Debian's ssh service creates.
  if (::mkdir("/run/sshd", 0755) != 0 && errno != EEXIST) {
    skip_reason_ = std::string("cannot create /run/sshd: ") + std::strerror(errno);
    return false;
  }
  port_ = FreeLoopbackPort();
  if (port_ == 0) {
    skip_reason_ = "no free port on 127.0.0.1";
    return false;
  }
  const std::string config = dir_.path() + "/sshd_config";
  {
    std::ofstream out(config);
    out << "Port " << port_ << "\n"
        << "ListenAddress 127.0.0.1\n"
        << "HostKey " << host_key << "\n"
        << "AuthorizedKeysFile " << dir_.path() << "/authorized_keys\n"
        << "PermitRootLogin prohibit-password\n"
        << "PubkeyAuthentication yes\n"
        << "PasswordAuthentication no\n"
        << "KbdInteractiveAuthentication no\n"
        << "UsePAM no\n"
        << "StrictModes no\n"
        << "PidFile none\n"
        << "LogLevel ERROR\n"
        << "Subsystem sftp internal-sftp\n";
  }
  // -D: in the foreground, so that this process owns it; -e: log to stderr.
  auto daemon =
      std::make_unique<ChildProcess>(std::vector<std::string>{kSshd, "-D", "-e", "-f", config});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline && daemon->Running()) {
    if (Listening(port_)) {
      daemon_ = std::move(daemon);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const CommandResult ended = daemon->Wait(std::chrono::seconds(1));
  skip_reason_ = "sshd did not start on 127.0.0.1:" + std::to_string(port_) + ": " + ended.err;
  // Lost the port to another program: the caller may try again.
  return ended.err.find("ddress already in use") != std::string::npos;
}

SshfsMount::SshfsMount(const SftpServer& server, std::string remote_dir, std::string mount_point,
                       const std::vector<std::string>& extra_options)
    : mount_point_(std::move(mount_point)) {
  std::string options = "port=" + std::to_string(server.port()) +
                        ",IdentityFile=" + server.client_key() +
                        ",StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null"
                        ",BatchMode=yes,LogLevel=ERROR,allow_other,dir_cache=no";
  for (const std::string& option : extra_options) options += "," + option;
  sshfs_ = std::make_unique<ChildProcess>(std::vector<std::string>{
      "sshfs", "-f", "-o", options, "root@127.0.0.1:" + remote_dir, mount_point_});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline && sshfs_->Running()) {
    if (IsMountPoint(mount_point_)) {
      mounted_ = true;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  failure_ =
      "sshfs did not mount " + remote_dir + " at " + mount_point_ + ": " + sshfs_->StderrSoFar();
}

SshfsMount::~SshfsMount() {
  if (IsMountPoint(mount_point_)) {
    RunCommand({"fusermount3", "-u", mount_point_}, std::chrono::seconds(20));
    if (IsMountPoint(mount_point_)) ::umount2(mount_point_.c_str(), MNT_DETACH);
  }
  if (sshfs_) sshfs_->Wait(std::chrono::seconds(10));
}

}  // namespace wtcachefs::testing
