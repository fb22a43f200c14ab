# SPDX-License-Identifier: Apache-2.0
# The Debian package, built by CPack from the install rules below:
#   cmake --build build --target package    (or: cd build && cpack -G DEB)
# CPack rather than debian/ rules: the package comes from the same CMake build
# and install rules as the binary that is tested, needs no Debian source
# package tooling beyond dpkg-shlibdeps, and builds in one command from any
# build directory. Its contents follow Debian policy closely enough that lintian
# reports no errors (tests/integration/package_test.cc checks).

include(GNUInstallDirs)

# Documentation Debian requires next to every package, compressed as policy says.
set(WTCACHEFS_DOC_DIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/wtcachefs)
find_program(GZIP_PROGRAM gzip REQUIRED)
set(WTCACHEFS_PACKAGED ${CMAKE_BINARY_DIR}/packaged)
file(MAKE_DIRECTORY ${WTCACHEFS_PACKAGED})
foreach(source packaging/wtcachefs.8 packaging/changelog)
  get_filename_component(name ${source} NAME)
  add_custom_command(
    OUTPUT ${WTCACHEFS_PACKAGED}/${name}.gz
    COMMAND ${GZIP_PROGRAM} -9n -c ${PROJECT_SOURCE_DIR}/${source} > ${WTCACHEFS_PACKAGED}/${name}.gz
    DEPENDS ${PROJECT_SOURCE_DIR}/${source}
    VERBATIM)
  list(APPEND WTCACHEFS_PACKAGED_FILES ${WTCACHEFS_PACKAGED}/${name}.gz)
endforeach()
add_custom_target(wtcachefs_packaged_docs ALL DEPENDS ${WTCACHEFS_PACKAGED_FILES})

install(FILES ${WTCACHEFS_PACKAGED}/wtcachefs.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${WTCACHEFS_PACKAGED}/changelog.gz packaging/copyright
        DESTINATION ${WTCACHEFS_DOC_DIR})
install(FILES packaging/examples/fstab DESTINATION ${WTCACHEFS_DOC_DIR}/examples)
install(FILES packaging/wtcachefs.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/bash-completion/completions
        RENAME wtcachefs)
install(FILES packaging/systemd/wtcachefs@.service DESTINATION lib/systemd/system)
# Turns on FUSE over io_uring for the host; installed, not enabled (wtcachefs(8),
# TRANSPORT).
install(FILES packaging/systemd/wtcachefs-fuse-uring.conf
        DESTINATION ${CMAKE_INSTALL_DATADIR}/wtcachefs)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME wtcachefs)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "writethrough cache filesystem in front of slow storage")
# The extended description; CPack indents each line by one space.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "wtcachefs mounts a view of a slow directory, VM disk image or block device
and caches its data in blocks on a fast directory. Every write goes to the
origin and the cache in parallel and is acknowledged once both completed, so
losing the cache never loses data. The cache is bounded, scan resistant and
crash safe; statistics, invalidation, warm-up and checking come with it.")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "wtcachefs developers <maintainers@wtcachefs.org>")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# fusermount3 and mount.fuse3 (unmounting, mount -t fuse.wtcachefs, fstab).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "fuse3")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
