// The threads platform's object stores: MemoryStore and FileStore, with exact contents, file
// names, limits and errors; concurrent use of both.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fmt/format.h"
#include "runtime/real/file_store.h"
#include "runtime/real/memory_store.h"
#include "runtime/real/threads_store.h"

namespace troupe {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the test's temp dir, removed at the end.
class TempDir {
 public:
  TempDir() {
    path_ = fs::path(::testing::TempDir()) /
            fmt::format("troupe_store_test_{}_{}", ::getpid(), ::testing::UnitTest::GetInstance()->random_seed());
    path_ /= ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string str() const { return path_.string(); }
  // The names in the directory, sorted.
  std::set<std::string> names() const {
    std::set<std::string> result;
    for (const auto& entry : fs::directory_iterator(path_)) result.insert(entry.path().filename().string());
    return result;
  }

 private:
  fs::path path_;
};

std::optional<std::string> value_of(StorageService& store, std::string_view key) {
  absl::StatusOr<std::optional<std::string>> value = store.get(key);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? *value : std::nullopt;
}

// The behaviour both stores share, run on each.
void expect_basic_semantics(StorageService& store) {
  EXPECT_EQ(value_of(store, "k"), std::nullopt);
  ASSERT_TRUE(store.put("k", "one").ok());
  EXPECT_EQ(value_of(store, "k"), "one");
  ASSERT_TRUE(store.put("k", "two").ok());
  EXPECT_EQ(value_of(store, "k"), "two");
  ASSERT_TRUE(store.put("empty", "").ok());
  EXPECT_EQ(value_of(store, "empty"), "");
  ASSERT_TRUE(store.remove("k").ok());
  EXPECT_EQ(value_of(store, "k"), std::nullopt);
  EXPECT_TRUE(store.remove("k").ok()) << "removing a missing key is OK";
  // Keys with '/', dots, percent signs and spaces are distinct keys, not paths.
  const std::vector<std::string> odd = {"a/b", "a%2Fb", "..", ".", "/", "a b", "../escape", "~!@#$^&*()[]{}|\\:;'\"<>,?"};
  for (size_t i = 0; i < odd.size(); ++i) ASSERT_TRUE(store.put(odd[i], fmt::format("v{}", i)).ok()) << odd[i];
  for (size_t i = 0; i < odd.size(); ++i) EXPECT_EQ(value_of(store, odd[i]), fmt::format("v{}", i)) << odd[i];
  // Binary values are kept byte for byte.
  const std::string binary("\0\xff\n\r\x01", 5);
  ASSERT_TRUE(store.put("bin", binary).ok());
  EXPECT_EQ(value_of(store, "bin"), binary);
}

void expect_limits(StorageService& store) {
  absl::Status empty = store.put("", "v");
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(empty.message(), "storage key is empty (keys are 1 to 80 bytes)");
  absl::Status long_key = store.put(std::string(81, 'k'), "v");
  EXPECT_EQ(long_key.message(), "storage key is 81 bytes, more than kStorageKeyBytesMax (80)");
  absl::Status control = store.remove("tab\there");
  EXPECT_EQ(control.message(), "storage key has byte 0x09 at offset 3: keys are printable ASCII (0x20 to 0x7e)");
  absl::StatusOr<std::optional<std::string>> high = store.get("caf\xc3\xa9");
  EXPECT_EQ(high.status().message(), "storage key has byte 0xc3 at offset 3: keys are printable ASCII (0x20 to 0x7e)");
  absl::Status big = store.put("big", std::string(kStorageValueBytesMax + 1, 'x'));
  EXPECT_EQ(big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(big.message(), "storage value for 'big' is 4194305 bytes, more than kStorageValueBytesMax (4194304)");
  EXPECT_FALSE(storage_write_may_have_applied(big));
  EXPECT_EQ(value_of(store, "big"), std::nullopt);
  // The limits themselves are allowed.
  ASSERT_TRUE(store.put(std::string(80, 'k'), std::string(kStorageValueBytesMax, 'x')).ok());
  EXPECT_EQ(value_of(store, std::string(80, 'k'))->size(), kStorageValueBytesMax);
}

// Fencing, as both stores implement it (runtime/storage_service.h, "Fencing").
void expect_fencing(StorageService& store) {
  ASSERT_TRUE(store.put("k", "v0").ok());
  absl::StatusOr<std::optional<std::string>> read = store.get("k", {.fence = 2});
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "v0");
  absl::Status low = store.put("k", "v1", {.fence = 1});
  EXPECT_EQ(low.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(low.message(), "fenced: token 1 is below the key's fence 2");
  EXPECT_TRUE(storage_fenced(low));
  EXPECT_FALSE(storage_write_may_have_applied(low));
  EXPECT_EQ(value_of(store, "k"), "v0");
  EXPECT_TRUE(store.put("k", "v2", {.fence = 2}).ok()) << "an equal token is admitted";
  EXPECT_TRUE(store.put("k", "v3", {.fence = 3}).ok()) << "a higher one too, and raises the fence";
  EXPECT_EQ(store.put("k", "v2 again", {.fence = 2}).message(), "fenced: token 2 is below the key's fence 3");
  EXPECT_TRUE(store.put("k", "unfenced").ok()) << "token 0 does not check the fence";
  EXPECT_EQ(value_of(store, "k"), "unfenced");
  EXPECT_EQ(store.remove("k", {.fence = 2}).message(), "fenced: token 2 is below the key's fence 3");
  EXPECT_EQ(value_of(store, "k"), "unfenced");
  ASSERT_TRUE(store.remove("k", {.fence = 4}).ok());
  EXPECT_EQ(value_of(store, "k"), std::nullopt);
  EXPECT_EQ(store.put("k", "stale", {.fence = 3}).message(), "fenced: token 3 is below the key's fence 4")
      << "a removed key keeps its fence";
  // A fenced get of a key that holds nothing fences it too.
  absl::StatusOr<std::optional<std::string>> empty = store.get("fresh", {.fence = 9});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, std::nullopt);
  EXPECT_EQ(store.put("fresh", "x", {.fence = 8}).message(), "fenced: token 8 is below the key's fence 9");
  // A get with a lower token reads and leaves the fence as it is.
  EXPECT_EQ(value_of(store, "fresh"), std::nullopt);
  ASSERT_TRUE(store.get("fresh", {.fence = 1}).ok());
  EXPECT_EQ(store.put("fresh", "x", {.fence = 8}).message(), "fenced: token 8 is below the key's fence 9");
  EXPECT_TRUE(store.put("fresh", "x", {.fence = 9}).ok());
  EXPECT_EQ(value_of(store, "fresh"), "x");
}

// Eight threads each write and read back their own `keys` keys, all at once.
void expect_thread_safe(StorageService& store, int keys) {
  std::vector<std::thread> threads;
  std::vector<int> mismatches(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&store, &mismatches, keys, t] {
      for (int i = 0; i < keys; ++i) {
        const std::string key = fmt::format("t{}/k{}", t, i);
        if (!store.put(key, fmt::format("{}-{}", t, i)).ok()) ++mismatches[t];
        absl::StatusOr<std::optional<std::string>> got = store.get(key);
        if (!got.ok() || *got != fmt::format("{}-{}", t, i)) ++mismatches[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(8, 0));
  EXPECT_EQ(value_of(store, fmt::format("t7/k{}", keys - 1)), fmt::format("7-{}", keys - 1));
}

TEST(MemoryStore, PutGetRemoveOverwriteAndOddKeys) {
  MemoryStore store;
  expect_basic_semantics(store);
}

TEST(MemoryStore, KeyRulesAndSizeLimits) {
  MemoryStore store;
  expect_limits(store);
}

TEST(MemoryStore, AWriteBeyondCapacityFailsAndChangesNothing) {
  MemoryStore store({.capacity_bytes = 10});
  ASSERT_TRUE(store.put("k", "12345678").ok());  // 9 bytes
  absl::Status full = store.put("j", "12");
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(full.message(), "the store is full: 9 + 3 bytes would pass capacity_bytes (10)");
  EXPECT_EQ(store.bytes(), 9);
  ASSERT_TRUE(store.put("k", "123456789").ok());  // replacing fits: 10 bytes
  EXPECT_EQ(store.bytes(), 10);
  ASSERT_TRUE(store.remove("k").ok());
  EXPECT_EQ(store.bytes(), 0);
}

TEST(MemoryStore, FencedWritesBelowTheFenceAreRefused) {
  MemoryStore store;
  expect_fencing(store);
  EXPECT_EQ(store.bytes(), 5 + 1) << "fences are not counted: only fresh = x";
}

TEST(MemoryStore, IsThreadSafe) {
  MemoryStore store;
  expect_thread_safe(store, 200);
}

TEST(FileStore, PutGetRemoveOverwriteAndOddKeys) {
  TempDir dir;
  FileStore store({.directory = dir.str()});
  expect_basic_semantics(store);
  // Every key is one file directly in the directory, and no temporary file is left.
  EXPECT_EQ(dir.names(), (std::set<std::string>{"%2E", "%2E%2E", "%2E%2E%2Fescape", "%2F", "a%252Fb", "a%20b", "a%2Fb",
                                                "bin", "empty",
                                                "%7E%21%40%23%24%5E%26%2A%28%29%5B%5D%7B%7D%7C%5C%3A%3B%27%22%3C%3E%2C%3F"}));
  EXPECT_FALSE(fs::exists(fs::path(dir.str()).parent_path() / "escape"));
}

TEST(FileStore, FileNamesEscapeEveryByteButLettersDigitsUnderscoreAndDash) {
  EXPECT_EQ(FileStore::file_name("ckpt/a2.1"), "ckpt%2Fa2%2E1");
  EXPECT_EQ(FileStore::file_name("Az09_-"), "Az09_-");
  EXPECT_EQ(FileStore::file_name(".."), "%2E%2E");
  EXPECT_EQ(FileStore::file_name("%"), "%25");
  EXPECT_EQ(FileStore::file_name(std::string(80, '/')).size(), 240u);
  EXPECT_EQ(FileStore::fence_file_name("ckpt/a2.1"), "ckpt%2Fa2%2E1.fence");
}

TEST(FileStore, KeyRulesAndSizeLimits) {
  TempDir dir;
  FileStore store({.directory = dir.str()});
  expect_limits(store);
}

TEST(FileStore, ContentsSurviveTheStoreObject) {
  TempDir dir;
  {
    FileStore store({.directory = dir.str()});
    ASSERT_TRUE(store.put("ckpt/a", "state 1").ok());
  }
  FileStore reopened({.directory = dir.str()});
  EXPECT_EQ(value_of(reopened, "ckpt/a"), "state 1");
  std::ifstream file(dir.str() + "/ckpt%2Fa");
  std::string on_disk((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(on_disk, "state 1");
}

TEST(FileStore, FencedWritesBelowTheFenceAreRefused) {
  TempDir dir;
  FileStore store({.directory = dir.str()});
  expect_fencing(store);
  // Each fenced key has a sidecar holding its fence; "k" has no value left.
  EXPECT_EQ(dir.names(), (std::set<std::string>{"k.fence", "fresh", "fresh.fence"}));
  std::ifstream file(dir.str() + "/k.fence");
  std::string on_disk((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(on_disk, "4\n");
}

TEST(FileStore, FencesSurviveReopeningTheStore) {
  TempDir dir;
  {
    FileStore store({.directory = dir.str()});
    ASSERT_TRUE(store.put("ckpt/a", "state 1", {.fence = 6}).ok());
    ASSERT_TRUE(store.get("ckpt/a", {.fence = 7}).ok());
  }
  FileStore reopened({.directory = dir.str()});
  EXPECT_EQ(reopened.put("ckpt/a", "stale", {.fence = 6}).message(), "fenced: token 6 is below the key's fence 7");
  EXPECT_EQ(value_of(reopened, "ckpt/a"), "state 1");
  EXPECT_TRUE(reopened.put("ckpt/a", "state 2", {.fence = 7}).ok());
  EXPECT_EQ(dir.names(), (std::set<std::string>{"ckpt%2Fa", "ckpt%2Fa.fence"}));
  std::ifstream file(dir.str() + "/ckpt%2Fa");
  std::string value((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(value, "state 2") << "values stay raw bytes";
  std::ifstream fence(dir.str() + "/ckpt%2Fa.fence");
  std::string fence_text((std::istreambuf_iterator<char>(fence)), std::istreambuf_iterator<char>());
  EXPECT_EQ(fence_text, "7\n");
}

TEST(FileStore, AFenceFileNotWrittenByTheStoreIsAnError) {
  TempDir dir;
  FileStore store({.directory = dir.str()});
  ASSERT_TRUE(store.put("k", "v").ok());
  for (const std::string text : {"", "7", "07\n", "x\n", "99999999999999999999\n"}) {
    std::ofstream(dir.str() + "/k.fence", std::ios::trunc) << text;
    absl::Status status = store.put("k", "w", {.fence = 1});
    EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << text;
    EXPECT_EQ(status.message(), dir.str() + "/k.fence is not a fence written by this store") << text;
    EXPECT_TRUE(store.put("k", "unfenced").ok()) << "unfenced writes do not read the fence";
  }
  EXPECT_EQ(value_of(store, "k"), "unfenced");
}

TEST(FileStore, AnUnusableDirectoryFailsEveryOperationNamingIt) {
  TempDir dir;
  fs::create_directories(dir.str());
  const std::string blocker = dir.str() + "/a_file";
  std::ofstream(blocker) << "not a directory";
  FileStore store({.directory = blocker + "/sub"});
  absl::Status put = store.put("k", "v");
  EXPECT_EQ(put.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(put.message().rfind("file store: cannot create directory " + blocker + "/sub: ", 0), 0u) << put.message();
  EXPECT_EQ(store.get("k").status(), put);
  EXPECT_EQ(store.remove("k"), put);
  FileStore unnamed({});
  EXPECT_EQ(unnamed.put("k", "v").message(), "file store: no directory given (FileStoreOptions::directory)");
}

TEST(FileStore, IsThreadSafe) {
  TempDir dir;
  FileStore store({.directory = dir.str()});
  expect_thread_safe(store, 20);  // each put fsyncs twice: keep it short
  EXPECT_EQ(dir.names().size(), 160u);
}

TEST(ThreadsStore, MemoryByDefaultAndFilesWhenADirectoryIsGiven) {
  TempDir dir;
  std::unique_ptr<StorageService> memory = make_threads_store({});
  EXPECT_NE(dynamic_cast<MemoryStore*>(memory.get()), nullptr);
  std::unique_ptr<StorageService> files = make_threads_store({.directory = dir.str()});
  ASSERT_NE(dynamic_cast<FileStore*>(files.get()), nullptr);
  ASSERT_TRUE(files->put("k", "v").ok());
  EXPECT_EQ(dir.names(), (std::set<std::string>{"k"}));
}

}  // namespace
}  // namespace troupe
