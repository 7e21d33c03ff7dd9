# `cmake --install` puts headers, libraries and a package config in place, so that another
# project can say find_package(coronet) and link coronet::coronet.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS coronet coronet_framework coronet_drivers coronet_protocols
        EXPORT coronet-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
foreach(layer framework drivers protocols)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${layer}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/coronet/${layer}
          FILES_MATCHING PATTERN "*.hpp")
endforeach()
install(FILES ${PROJECT_BINARY_DIR}/generated/framework/uring_features.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/coronet/framework)
install(EXPORT coronet-targets NAMESPACE coronet:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/coronet)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/coronet-config.cmake.in
  ${PROJECT_BINARY_DIR}/coronet-config.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/coronet)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/coronet-config-version.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/coronet-config.cmake ${PROJECT_BINARY_DIR}/coronet-config-version.cmake
        ${PROJECT_SOURCE_DIR}/cmake/coronet_dependencies.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/coronet)
