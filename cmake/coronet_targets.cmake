# Helpers shared by every target of the project.
include(GNUInstallDirs)

function(coronet_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                         -Wold-style-cast -Wcast-align)
  if(CORONET_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # g++ 12 warns falsely on coroutine frames and on some std::array bounds under -O3.
    target_compile_options(${target} PRIVATE -Wno-mismatched-new-delete -Wno-array-bounds -Wno-stringop-overflow)
  endif()
endfunction()

if(CORONET_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # clang 14's -fsanitize=function emits prologue data that its coroutine splitting
    # places in another section ("Cannot represent a difference across sections").
    add_compile_options(-fno-sanitize=function)
  endif()
  add_compile_definitions(CORONET_SANITIZE=1)
endif()

if(CORONET_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "CORONET_FUZZ needs clang (libFuzzer): cmake --preset fuzz")
  endif()
  # Coverage feedback from every layer, not only from the fuzz targets' own code.
  add_compile_options(-fsanitize=fuzzer-no-link)
  add_compile_definitions(CORONET_FUZZ=1)
endif()

# A layer of DESIGN.md (framework, drivers, protocols): every .cpp below its folder.
function(coronet_add_layer layer)
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${layer}/*.cpp)
  if(NOT sources)
    set(sources ${PROJECT_SOURCE_DIR}/cmake/empty.cpp)
  endif()
  add_library(coronet_${layer} STATIC ${sources})
  add_library(coronet::${layer} ALIAS coronet_${layer})
  set_target_properties(coronet_${layer} PROPERTIES EXPORT_NAME ${layer} POSITION_INDEPENDENT_CODE ON)
  target_include_directories(coronet_${layer} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/generated>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/coronet>)
  target_compile_features(coronet_${layer} PUBLIC cxx_std_20)
  coronet_warnings(coronet_${layer})
endfunction()
