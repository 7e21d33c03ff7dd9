#pragma once
// A scratch directory for file tests, removed with everything in it at the end.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace coronet::test {

struct scratch_dir {
    std::filesystem::path path;
    scratch_dir() {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "coronet-files-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~scratch_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;

    // Writes `bytes` to `name` (replacing it) and returns the file's path.
    std::string write(const std::string& name, std::string_view bytes) const {
        auto p = path / name;
        std::ofstream out(p, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        REQUIRE(out.good());
        return p.string();
    }
    std::string at(const std::string& name) const { return (path / name).string(); }
};

// n bytes that differ at every offset of a 64 KiB-aligned chunk (a byte index hash), so a
// chunk read at the wrong offset or twice cannot compare equal.
inline std::string pattern_bytes(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>((i * 2654435761u) >> 13);
    return s;
}

} // namespace coronet::test
