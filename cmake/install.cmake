# Install rules and the CMake package: `cmake --install build --prefix P` puts the CLI in P/bin, the public
# headers in P/include/bpu_mapper/, libbpu_mapper.so in P/lib and bpu_mapperConfig.cmake (+ version file)
# in P/lib/cmake/bpu_mapper/, whose targets are bpu_mapper::runtime and bpu_mapper::compiler. Every path in the
# package is relative to P, so the prefix can be moved (relocatable); the CLI finds its libraries via $ORIGIN.
include(CMakePackageConfigHelpers)
set(BPU_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/bpu_mapper)

install(TARGETS bpu_mapper bpu_mapper_runtime bpu_mapper_compiler EXPORT bpu_mapperTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS bpu-mapper RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/bpu_mapper/runtime.h ${PROJECT_SOURCE_DIR}/include/bpu_mapper/model.hpp
              ${PROJECT_SOURCE_DIR}/include/bpu_mapper/compiler.hpp ${PROJECT_BINARY_DIR}/include/bpu_mapper/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/bpu_mapper)
install(EXPORT bpu_mapperTargets NAMESPACE bpu_mapper:: DESTINATION ${BPU_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/bpu_mapperConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/bpu_mapperConfig.cmake INSTALL_DESTINATION ${BPU_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/bpu_mapperConfigVersion.cmake VERSION ${PROJECT_VERSION}
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/bpu_mapperConfig.cmake ${PROJECT_BINARY_DIR}/bpu_mapperConfigVersion.cmake
        DESTINATION ${BPU_CMAKE_DIR})
