// SPDX-License-Identifier: Apache-2.0
// The README's two set-up commands: the first builds only what the demo needs
// and runs the demo; the second is what CI runs (.ci/run). The first is run
// here for real, in a build directory of its own (the dependencies are
// installed: this suite runs after the second command installed them).
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/temp_dir.h"

namespace wtcachefs::testing {
namespace {

const std::string kSource = WTCACHEFS_SOURCE_DIR;

// The fenced `sh` blocks of the README's "Set up" section.
std::vector<std::string> SetUpCommands() {
  const std::string readme = ReadFile(kSource + "/README.md");
  const size_t start = readme.find("\n## Set up");
  EXPECT_NE(start, std::string::npos) << "README.md has no Set up section";
  const size_t end = readme.find("\n## ", start + 1);
  const std::string section = readme.substr(start, end - start);
  std::vector<std::string> commands;
  const std::regex block("```sh\n([^`]*?)\n```");
  for (std::sregex_iterator it(section.begin(), section.end(), block), last; it != last; ++it) {
    commands.push_back((*it)[1]);
  }
  return commands;
}

TEST(ReadmeCommands, ExactlyTwoAndCiRunsTheSecond) {
  const std::vector<std::string> commands = SetUpCommands();
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_EQ(commands[0],
            "bash scripts/install-deps.sh && bash scripts/build.sh --demo && bash scripts/demo.sh");
  const std::string ci = ReadFile(kSource + "/.ci/run");
  EXPECT_NE(ci.find("\n" + commands[1] + "\n"), std::string::npos)
      << ".ci/run does not run the README's second command '" << commands[1] << "'";
}

TEST(ReadmeCommands, TheFirstBuildsOnlyTheBinaryAndItsDemoPasses) {
  TempDir build;
  const CommandResult built =
      RunCommand({"env", "BUILD_DIR=" + build.path(), "JOBS=1", "bash",
                  kSource + "/scripts/build.sh", "--demo"},
                 std::chrono::minutes(25));
  ASSERT_EQ(built.exit_code, 0) << built.out << built.err;
  ASSERT_TRUE(std::filesystem::exists(build.path() + "/wtcachefs"));
  for (const auto& entry : std::filesystem::recursive_directory_iterator(build.path())) {
    const std::string name = entry.path().filename().string();
    EXPECT_FALSE(entry.is_regular_file() && name.size() > 5 &&
                 name.compare(name.size() - 5, 5, "_test") == 0)
        << "a test binary was built: " << entry.path();
  }
  const CommandResult demo = RunCommand(
      {"env", "WTCACHEFS=" + build.path() + "/wtcachefs", "bash", kSource + "/scripts/demo.sh"},
      std::chrono::minutes(5));
  EXPECT_EQ(demo.exit_code, 0) << demo.out << demo.err;
}

}  // namespace
}  // namespace wtcachefs::testing
