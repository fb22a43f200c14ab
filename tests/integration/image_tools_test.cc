// SPDX-License-Identifier: Apache-2.0
// Image mode driven by the tools VM users run (Debian qemu-utils and fio): each
// test works on the image through VIEW, then checks ORIGIN directly.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "support/image_mount.h"
#include "support/mounted_view.h"

namespace wtcachefs::testing {
namespace {

constexpr uint64_t kMiB = 1 << 20;

// Runs a tool; the test fails with its output when it does not exit 0.
void ExpectSuccess(const std::vector<std::string>& argv) {
  std::string command;
  for (const std::string& arg : argv) command += arg + " ";
  const CommandResult r = RunCommand(argv, std::chrono::seconds(240));
  EXPECT_EQ(r.exit_code, 0) << command << "\n" << r.out << r.err;
}

// qemu-io commands, each given with -c.
std::vector<std::string> QemuIo(const std::string& format, const std::string& cache_mode,
                                const std::string& image,
                                const std::vector<std::string>& commands,
                                bool read_only = false) {
  std::vector<std::string> argv = {"qemu-io", "-f", format, "-t", cache_mode};
  // ORIGIN is read while VIEW holds it open: share it (-U) and only read (-r).
  if (read_only) argv.insert(argv.end(), {"-r", "-U"});
  for (const std::string& command : commands) argv.insert(argv.end(), {"-c", command});
  argv.push_back(image);
  return argv;
}

using QemuParam = std::tuple<ImageKind, std::string>;

std::string QemuName(const ::testing::TestParamInfo<QemuParam>& info) {
  return std::string(std::get<0>(info.param) == ImageKind::kFile ? "ImageFile" : "LoopDevice") +
         "_" + std::get<1>(info.param);
}

class QemuImageTest : public ::testing::TestWithParam<QemuParam> {
 protected:
  // A fresh image of `format` through VIEW: qemu-img create on a file; on a
  // device (which cannot be truncated) the format is laid down before mounting.
  void SetUp() override {
    ASSERT_TRUE(image_.setup_failure().empty()) << image_.setup_failure();
    if (kind() == ImageKind::kLoopDevice) {
      if (format() != "raw") {
        ExpectSuccess({"qemu-img", "create", "-q", "-f", format(), image_.origin(), "192M"});
      }
      ASSERT_TRUE(image_.Mount()) << image_.failure();
      return;
    }
    ASSERT_TRUE(image_.Mount()) << image_.failure();
    ExpectSuccess({"qemu-img", "create", "-q", "-f", format(), image_.view_file(), "192M"});
  }

  ImageKind kind() const { return std::get<0>(GetParam()); }
  const std::string& format() const { return std::get<1>(GetParam()); }

  // ORIGIN equals VIEW as qemu sees it, and a qcow2 image is consistent on both.
  void ExpectOriginMatchesView() {
    ExpectSuccess({"qemu-img", "compare", "-U", "-f", format(), "-F", format(), image_.view_file(),
         image_.origin()});
    if (format() == "qcow2") {
      ExpectSuccess({"qemu-img", "check", "-f", format(), image_.view_file()});
      ExpectSuccess({"qemu-img", "check", "-U", "-f", format(), image_.origin()});
    }
    const CommandResult view_map = RunCommand(
        {"qemu-img", "map", "-U", "--output=json", "-f", format(), image_.view_file()});
    const CommandResult origin_map = RunCommand(
        {"qemu-img", "map", "-U", "--output=json", "-f", format(), image_.origin()});
    EXPECT_EQ(view_map.exit_code, 0) << view_map.err;
    EXPECT_EQ(view_map.out, origin_map.out) << "qemu-img map differs between VIEW and ORIGIN";
  }

  ImageMount image_{std::get<0>(GetParam()), std::get<0>(GetParam()) == ImageKind::kFile
                                                 ? 0
                                                 : 256 * kMiB};
};

TEST_P(QemuImageTest, QemuIoPatternsAndDiscardsReachOrigin) {
  // cache=none (O_DIRECT, 512-byte and 4 KiB aligned requests) and writeback.
  ExpectSuccess(QemuIo(format(), "none", image_.view_file(),
             {"write -P 0xa5 0 1M", "write -P 0x5a 1536 512", "write -P 0x3c 1044480 8192",
              "write -P 0x11 8M 2M", "discard 8M 1M"}));
  ExpectSuccess(QemuIo(format(), "writeback", image_.view_file(),
             {"write -P 0x22 16M 1M", "write -P 0x33 16781824 4096", "discard 17M 64k",
              "flush"}));
  const std::vector<std::string> expected = {
      "read -P 0xa5 0 1536",         "read -P 0x5a 1536 512",
      "read -P 0xa5 2048 1042432",   "read -P 0x3c 1044480 8192",
      "read -P 0 8M 1M",             "read -P 0x11 9M 1M",
      "read -P 0x22 16M 4608",       "read -P 0x33 16781824 4096",
      "read -P 0x22 16785920 1039872", "read -P 0 17M 64k"};
  ExpectSuccess(QemuIo(format(), "none", image_.view_file(), expected));
  ExpectSuccess(QemuIo(format(), "writeback", image_.view_file(), expected));
  // Straight from ORIGIN, bypassing wtcachefs.
  ExpectSuccess(QemuIo(format(), "none", image_.origin(), expected, /*read_only=*/true));
  ExpectOriginMatchesView();
}

TEST_P(QemuImageTest, QemuImgConvertIntoTheViewMatchesTheSource) {
  const std::string source = image_.dir().Sub("source.qcow2", false);
  ExpectSuccess({"qemu-img", "create", "-q", "-f", "qcow2", source, "160M"});
  ExpectSuccess(QemuIo("qcow2", "writeback", source,
             {"write -P 0x61 0 3M", "write -P 0x62 50M 512", "write -P 0x63 100M 5M"}));
  std::vector<std::string> convert = {"qemu-img", "convert", "-t", "none", "-O", format()};
  // A device keeps its size and format: convert into it without re-creating it.
  if (kind() == ImageKind::kLoopDevice) convert.push_back("-n");
  convert.insert(convert.end(), {source, image_.view_file()});
  ExpectSuccess(convert);
  ExpectSuccess({"qemu-img", "compare", "-f", "qcow2", "-F", format(), source, image_.view_file()});
  ExpectSuccess({"qemu-img", "compare", "-U", "-f", "qcow2", "-F", format(), source, image_.origin()});
  ExpectOriginMatchesView();
}

INSTANTIATE_TEST_SUITE_P(
    Images, QemuImageTest,
    ::testing::Combine(::testing::Values(ImageKind::kFile, ImageKind::kLoopDevice),
                       ::testing::Values(std::string("raw"), std::string("qcow2"))),
    QemuName);

using FioParam = std::tuple<ImageKind, bool /*direct*/, std::string /*rw*/>;

std::string FioName(const ::testing::TestParamInfo<FioParam>& info) {
  return std::string(std::get<0>(info.param) == ImageKind::kFile ? "ImageFile" : "LoopDevice") +
         (std::get<1>(info.param) ? "_Direct_" : "_Buffered_") + std::get<2>(info.param);
}

class FioVerifyTest : public ::testing::TestWithParam<FioParam> {
 protected:
  ImageMount image_{std::get<0>(GetParam()), 96 * kMiB};
};

TEST_P(FioVerifyTest, WritesVerifyAndOriginEqualsView) {
  ASSERT_TRUE(image_.setup_failure().empty()) << image_.setup_failure();
  ASSERT_TRUE(image_.Mount()) << image_.failure();
  const bool direct = std::get<1>(GetParam());
  ExpectSuccess({"fio", "--name=verify", "--filename=" + image_.view_file(),
       "--rw=" + std::get<2>(GetParam()), "--bs=4k", "--size=64M", "--offset=16M",
       "--ioengine=libaio", "--iodepth=8", std::string("--direct=") + (direct ? "1" : "0"),
       "--verify=crc32c", "--do_verify=1", "--verify_fatal=1", "--randrepeat=0",
       "--output-format=terse"});
  // Origin holds exactly what VIEW serves, from the cache and past it.
  const std::string from_view = ReadFile(image_.view_file());
  EXPECT_EQ(from_view.size(), 96 * kMiB);
  EXPECT_TRUE(from_view == ReadFile(image_.origin())) << "ORIGIN differs from VIEW";
  EXPECT_GT(StatusCounter(image_.view(), "write_misses") +
                StatusCounter(image_.view(), "write_hits"),
            0u);
}

INSTANTIATE_TEST_SUITE_P(
    Images, FioVerifyTest,
    ::testing::Combine(::testing::Values(ImageKind::kFile, ImageKind::kLoopDevice),
                       ::testing::Bool(),
                       ::testing::Values(std::string("randwrite"), std::string("write"))),
    FioName);

}  // namespace
}  // namespace wtcachefs::testing
