// SPDX-License-Identifier: Apache-2.0
// The licence: LICENSE holds Apache-2.0's text, every source file names it in
// an SPDX line near its top, and the Debian package's copyright file says so.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const fs::path kTop = WTCACHEFS_SOURCE_DIR;

std::string Head(const fs::path& file, int lines) {
  std::ifstream in(file);
  std::string head, line;
  for (int i = 0; i < lines && std::getline(in, line); ++i) head += line + "\n";
  return head;
}

bool IsSource(const fs::path& file) {
  const std::string name = file.filename().string();
  const std::string ext = file.extension().string();
  if (ext == ".cc" || ext == ".h" || ext == ".cmake" || ext == ".sh") return true;
  if (name == "CMakeLists.txt") return true;
  // Programs without an extension: every script, the benchmark drivers, CI.
  const std::string dir = file.parent_path().filename().string();
  return ext.empty() && (dir == "scripts" || dir == "bench" || dir == ".ci") &&
         Head(file, 1).starts_with("#!");
}

TEST(License, EverySourceFileCarriesAnSpdxLine) {
  std::vector<fs::path> sources = {kTop / "CMakeLists.txt"};
  for (const char* dir : {"src", "include", "tests", "bench", "scripts", ".ci"}) {
    for (const auto& entry : fs::recursive_directory_iterator(kTop / dir)) {
      if (entry.is_regular_file() && IsSource(entry.path())) sources.push_back(entry.path());
    }
  }
  ASSERT_GT(sources.size(), 200u) << "the walk found too few files under " << kTop;
  for (const fs::path& file : sources) {
    EXPECT_NE(Head(file, 2).find("SPDX-License-Identifier: Apache-2.0"), std::string::npos)
        << fs::relative(file, kTop) << " lacks '// SPDX-License-Identifier: Apache-2.0' "
        << "(or '# ...') in its first two lines";
  }
}

TEST(License, LicenseFileAndPackageCopyrightNameApache2) {
  EXPECT_NE(Head(kTop / "LICENSE", 3).find("Apache License"), std::string::npos);
  std::ifstream copyright(kTop / "packaging" / "copyright");
  std::stringstream text;
  text << copyright.rdbuf();
  EXPECT_NE(text.str().find("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"),
            std::string::npos);
  EXPECT_NE(text.str().find("License: Apache-2.0"), std::string::npos);
  EXPECT_NE(text.str().find("/usr/share/common-licenses/Apache-2.0"), std::string::npos);
}

}  // namespace
