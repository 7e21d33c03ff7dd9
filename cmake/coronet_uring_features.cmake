# Debian 12 ships liburing 2.3, older than the kernel. Each helper that 2.3 lacks gets a
# small shim in framework/uring/shims.hpp, compiled only when the installed liburing
# does not have it. The results land in the generated header framework/uring_features.hpp.
include(CheckCSourceCompiles)
set(CMAKE_REQUIRED_INCLUDES ${CORONET_LIBURING_INCLUDE})
set(CMAKE_REQUIRED_LIBRARIES ${CORONET_LIBURING_LIBRARY})

check_c_source_compiles([[
#include <liburing.h>
int main(void) { int ret; struct io_uring r; return io_uring_setup_buf_ring(&r, 8, 0, 0, &ret) != 0; }
]] CORONET_HAVE_SETUP_BUF_RING)

check_c_source_compiles([[
#include <liburing.h>
int main(void) { struct io_uring_sqe s; io_uring_prep_read_multishot(&s, 0, 0, 0, 0); return 0; }
]] CORONET_HAVE_PREP_READ_MULTISHOT)

check_c_source_compiles([[
#include <liburing.h>
int main(void) { return IORING_SETUP_DEFER_TASKRUN + IORING_SETUP_SINGLE_ISSUER; }
]] CORONET_HAVE_DEFER_TASKRUN_FLAG)

# The opcode can be known to the header even where the prep helper is not (and is an enum,
# so the preprocessor cannot see it).
check_c_source_compiles([[
#include <liburing.h>
int main(void) { return IORING_OP_READ_MULTISHOT; }
]] CORONET_HAVE_OP_READ_MULTISHOT)

unset(CMAKE_REQUIRED_INCLUDES)
unset(CMAKE_REQUIRED_LIBRARIES)

foreach(flag CORONET_HAVE_SETUP_BUF_RING CORONET_HAVE_PREP_READ_MULTISHOT CORONET_HAVE_DEFER_TASKRUN_FLAG
             CORONET_HAVE_OP_READ_MULTISHOT)
  if(${flag})
    set(${flag} 1)
  else()
    set(${flag} 0)
  endif()
endforeach()
configure_file(${PROJECT_SOURCE_DIR}/cmake/uring_features.hpp.in
               ${PROJECT_BINARY_DIR}/generated/framework/uring_features.hpp @ONLY)
