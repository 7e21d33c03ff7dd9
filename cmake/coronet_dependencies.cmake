# Finds coronet's dependencies. A missing one stops configuration with the Debian package
# that provides it, since a newcomer on Debian 12 should not have to guess.
find_package(PkgConfig QUIET)

function(coronet_missing what package)
  message(FATAL_ERROR "coronet needs ${what}: install it with `apt-get install ${package}`")
endfunction()

# liburing: Debian ships a pkg-config file, no CMake config.
find_path(CORONET_LIBURING_INCLUDE liburing.h)
find_library(CORONET_LIBURING_LIBRARY uring)
if(NOT CORONET_LIBURING_INCLUDE OR NOT CORONET_LIBURING_LIBRARY)
  coronet_missing("liburing" "liburing-dev")
endif()
if(NOT TARGET coronet::liburing)
  add_library(coronet::liburing UNKNOWN IMPORTED)
  set_target_properties(coronet::liburing PROPERTIES
    IMPORTED_LOCATION "${CORONET_LIBURING_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CORONET_LIBURING_INCLUDE}")
endif()

# Boost.Intrusive is header-only.
find_package(Boost 1.74 QUIET CONFIG)
if(NOT Boost_FOUND)
  find_path(CORONET_BOOST_INTRUSIVE boost/intrusive/list.hpp)
  if(NOT CORONET_BOOST_INTRUSIVE)
    coronet_missing("Boost.Intrusive" "libboost-dev")
  endif()
  add_library(Boost::headers INTERFACE IMPORTED)
  set_target_properties(Boost::headers PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${CORONET_BOOST_INTRUSIVE}")
endif()

if(CORONET_TESTS)
  find_package(Catch2 2.13 QUIET)
  if(NOT Catch2_FOUND)
    coronet_missing("Catch2 2.13 (tests)" "catch2")
  endif()
endif()

if(CORONET_BENCH)
  find_package(benchmark QUIET)
  if(NOT benchmark_FOUND)
    coronet_missing("Google Benchmark (benchmarks)" "libbenchmark-dev")
  endif()
endif()

if(CORONET_EXAMPLES)
  find_package(CLI11 QUIET)
  if(NOT CLI11_FOUND)
    coronet_missing("CLI11 (examples' command lines)" "libcli11-dev")
  endif()
  find_package(fmt QUIET)
  if(NOT fmt_FOUND)
    coronet_missing("fmt (examples' output)" "libfmt-dev")
  endif()
endif()
