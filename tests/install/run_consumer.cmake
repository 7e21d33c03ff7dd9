# Installs the already built coronet into a scratch prefix, then configures, builds and runs
# tests/install/consumer against it: proves find_package(coronet) + coronet::coronet work, for
# the README's echo server and for coronet-kv's server and its simulated test.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install/consumer -B ${WORK_DIR}/build
                        -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_CXX_COMPILER=${CXX}
                        -DCORONET_SOURCE_DIR=${SOURCE_DIR}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the consumer project failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the consumer project failed")
endif()
execute_process(COMMAND ${WORK_DIR}/build/consumer RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "consumer printed: ${out}")
if(NOT rc EQUAL 0 OR NOT out MATCHES "consumer ok")
  message(FATAL_ERROR "the consumer program failed")
endif()
execute_process(COMMAND ${WORK_DIR}/build/kv_sim RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "kv_sim printed: ${out}")
if(NOT rc EQUAL 0 OR NOT out MATCHES "kv ok")
  message(FATAL_ERROR "coronet-kv's simulated test, built against the package, failed")
endif()
