// SPDX-License-Identifier: Apache-2.0
// Extended attributes set, read, listed and removed through VIEW are origin's,
// with origin's errno for every refusal.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "integration/posix_helpers.h"

namespace wtcachefs::testing {
namespace {

class posix_xattr : public PosixViewTest {
 protected:
  void SetUp() override {
    PosixViewTest::SetUp();
    WriteFile(V("f"), "x");
    WriteFile(R("f"), "x");
  }
};

// The names listxattr(2) returns for `path`, sorted.
std::vector<std::string> Names(const std::string& path, bool follow = true) {
  std::vector<char> buffer(65536);
  const ssize_t n = follow ? ::listxattr(path.c_str(), buffer.data(), buffer.size())
                           : ::llistxattr(path.c_str(), buffer.data(), buffer.size());
  std::vector<std::string> names;
  if (n < 0) {
    names.push_back("<" + ErrnoName(errno) + ">");
    return names;
  }
  for (size_t at = 0; at < static_cast<size_t>(n);) {
    names.emplace_back(buffer.data() + at);
    at += names.back().size() + 1;
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string Value(const std::string& path, const char* name) {
  std::vector<char> buffer(65536);
  const ssize_t n = ::getxattr(path.c_str(), name, buffer.data(), buffer.size());
  if (n < 0) return "<" + ErrnoName(errno) + ">";
  return std::string(buffer.data(), static_cast<size_t>(n));
}

TEST_F(posix_xattr, UserXattrsSetGetListAndRemoveOnOrigin) {
  ASSERT_EQ(::setxattr(V("f").c_str(), "user.alpha", "one", 3, 0), 0);
  ASSERT_EQ(::setxattr(V("f").c_str(), "user.beta", "", 0, 0), 0);
  const std::string binary("\0\xff\x01zero", 7);
  ASSERT_EQ(::setxattr(V("f").c_str(), "user.binary", binary.data(), binary.size(), 0), 0);
  EXPECT_EQ(Value(O("f"), "user.alpha"), "one");
  EXPECT_EQ(Value(O("f"), "user.beta"), "");
  EXPECT_EQ(Value(O("f"), "user.binary"), binary);
  EXPECT_EQ(Value(V("f"), "user.binary"), binary);
  const std::vector<std::string> expected = {"user.alpha", "user.beta", "user.binary"};
  EXPECT_EQ(Names(V("f")), Names(O("f")));
  EXPECT_EQ(Names(V("f")), expected);
  ASSERT_EQ(::setxattr(V("f").c_str(), "user.alpha", "replaced", 8, 0), 0);
  EXPECT_EQ(Value(O("f"), "user.alpha"), "replaced");
  ASSERT_EQ(::removexattr(V("f").c_str(), "user.alpha"), 0);
  EXPECT_EQ(Value(O("f"), "user.alpha"), "<" + ErrnoName(ENODATA) + ">");
  EXPECT_EQ(Names(V("f")), Names(O("f")));
  // Set on origin, seen through the view.
  ASSERT_EQ(::setxattr(O("f").c_str(), "user.from-origin", "o", 1, 0), 0);
  EXPECT_EQ(Value(V("f"), "user.from-origin"), "o");
}

TEST_F(posix_xattr, MissingXattrFailsWithEnodataAsOnOrigin) {
  char value[16];
  EXPECT_EQ(ExpectSameErrno([&](const std::string& p) {
              return ::getxattr(p.c_str(), "user.missing", value, sizeof(value));
            }, "f"), ENODATA);
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) {
              return ::getxattr(p.c_str(), "user.missing", nullptr, 0);
            }, "f"), ENODATA);
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) {
              return ::removexattr(p.c_str(), "user.missing");
            }, "f"), ENODATA);
}

TEST_F(posix_xattr, XattrCreateOfExistingNameFailsWithEexistAsOnOrigin) {
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) {
              return ::setxattr(p.c_str(), "user.a", "1", 1, XATTR_CREATE);
            }, "f"), 0);
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) {
              return ::setxattr(p.c_str(), "user.a", "2", 1, XATTR_CREATE);
            }, "f"), EEXIST);
  EXPECT_EQ(Value(O("f"), "user.a"), "1");
}

TEST_F(posix_xattr, XattrReplaceOfMissingNameFailsWithEnodataAsOnOrigin) {
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) {
              return ::setxattr(p.c_str(), "user.a", "1", 1, XATTR_REPLACE);
            }, "f"), ENODATA);
  EXPECT_EQ(Value(O("f"), "user.a"), "<" + ErrnoName(ENODATA) + ">");
  ASSERT_EQ(::setxattr(V("f").c_str(), "user.a", "1", 1, 0), 0);
  ASSERT_EQ(::setxattr(R("f").c_str(), "user.a", "1", 1, 0), 0);
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) {
              return ::setxattr(p.c_str(), "user.a", "22", 2, XATTR_REPLACE);
            }, "f"), 0);
  EXPECT_EQ(Value(O("f"), "user.a"), "22");
}

TEST_F(posix_xattr, SizeQueriesAndShortBuffersMatchOrigin) {
  for (const std::string& p : {V("f"), R("f")}) {
    ASSERT_EQ(::setxattr(p.c_str(), "user.twelve", "123456789012", 12, 0), 0);
    ASSERT_EQ(::setxattr(p.c_str(), "user.b", "x", 1, 0), 0);
  }
  EXPECT_EQ(::getxattr(V("f").c_str(), "user.twelve", nullptr, 0), 12);
  EXPECT_EQ(::listxattr(V("f").c_str(), nullptr, 0), ::listxattr(O("f").c_str(), nullptr, 0));
  EXPECT_EQ(::listxattr(V("f").c_str(), nullptr, 0), ::listxattr(R("f").c_str(), nullptr, 0));
  char small[4];
  EXPECT_EQ(ExpectSameErrno([&](const std::string& p) {
              return ::getxattr(p.c_str(), "user.twelve", small, sizeof(small));
            }, "f"), ERANGE);
  EXPECT_EQ(ExpectSameErrno([&](const std::string& p) {
              return ::listxattr(p.c_str(), small, sizeof(small));
            }, "f"), ERANGE);
  char exact[12];
  EXPECT_EQ(::getxattr(V("f").c_str(), "user.twelve", exact, sizeof(exact)), 12);
}

TEST_F(posix_xattr, LargeXattrValueRoundTripsAndOversizedFailsAsOnOrigin) {
  std::string large(3000, '\0');
  for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>(i * 7);
  ASSERT_EQ(::setxattr(V("f").c_str(), "user.large", large.data(), large.size(), 0), 0);
  EXPECT_EQ(Value(O("f"), "user.large"), large);
  EXPECT_EQ(Value(V("f"), "user.large"), large);
  const std::string huge(70000, 'h');  // beyond XATTR_SIZE_MAX
  EXPECT_EQ(ExpectSameErrno([&](const std::string& p) {
              return ::setxattr(p.c_str(), "user.huge", huge.data(), huge.size(), 0);
            }, "f"), E2BIG);
  const std::string long_name = "user." + std::string(251, 'n');  // > XATTR_NAME_MAX
  EXPECT_EQ(ExpectSameErrno([&](const std::string& p) {
              return ::setxattr(p.c_str(), long_name.c_str(), "v", 1, 0);
            }, "f"), ERANGE);
}

TEST_F(posix_xattr, XattrsOnDirectoriesAndSymlinksMatchOrigin) {
  for (const std::string& base : {mount_.view(), reference_}) {
    ASSERT_EQ(::mkdir((base + "/d").c_str(), 0755), 0);
    ASSERT_EQ(::symlink("f", (base + "/l").c_str()), 0);
  }
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) {
              return ::setxattr(p.c_str(), "user.dir", "d", 1, 0);
            }, "d"), 0);
  EXPECT_EQ(Value(O("d"), "user.dir"), "d");
  // user.* attributes are not allowed on symlinks themselves ...
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) {
              return ::lsetxattr(p.c_str(), "user.link", "l", 1, 0);
            }, "l"), EPERM);
  // ... but the following calls reach the target.
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) {
              return ::setxattr(p.c_str(), "user.via-link", "t", 1, 0);
            }, "l"), 0);
  EXPECT_EQ(Value(O("f"), "user.via-link"), "t");
  EXPECT_EQ(Names(V("l"), false), Names(O("l"), false));
  EXPECT_EQ(Names(V("l"), false), Names(R("l"), false));
}

TEST_F(posix_xattr, TrustedXattrsNeedPrivilegeAsOnOrigin) {
  ASSERT_EQ(::chmod(V("f").c_str(), 0666), 0);
  ASSERT_EQ(::chmod(R("f").c_str(), 0666), 0);
  EXPECT_EQ(ExpectSameErrno([](const std::string& p) {
              return ::setxattr(p.c_str(), "trusted.t", "root", 4, 0);
            }, "f"), 0);
  EXPECT_EQ(Value(O("f"), "trusted.t"), "root");
  EXPECT_EQ(ExpectSameErrnoAs(Nobody(), [](const std::string& p) {
              return ::setxattr(p.c_str(), "trusted.t", "user", 4, 0);
            }, "f"), EPERM);
  // A user may set user.* on a file it may write, and not on one it may not.
  EXPECT_EQ(ExpectSameErrnoAs(Nobody(), [](const std::string& p) {
              return ::setxattr(p.c_str(), "user.by-nobody", "n", 1, 0);
            }, "f"), 0);
  ASSERT_EQ(::chmod(V("f").c_str(), 0644), 0);
  ASSERT_EQ(::chmod(R("f").c_str(), 0644), 0);
  EXPECT_EQ(ExpectSameErrnoAs(Nobody(), [](const std::string& p) {
              return ::setxattr(p.c_str(), "user.by-nobody", "m", 1, 0);
            }, "f"), EACCES);
  EXPECT_EQ(Value(O("f"), "user.by-nobody"), "n");
}

TEST_F(posix_xattr, ViewRootListsExactlyOriginRootAttributes) {
  ASSERT_EQ(::setxattr(mount_.origin().c_str(), "user.root-attr", "r", 1, 0), 0);
  EXPECT_EQ(Names(mount_.view()), Names(mount_.origin()));
  EXPECT_EQ(Value(mount_.view(), "user.root-attr"), "r");
}

}  // namespace
}  // namespace wtcachefs::testing
