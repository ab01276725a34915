# serve.cmake: what the `snesync-sim serve` sources need, for sim/CMakeLists.txt:
#   if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/serve.c)
#     file(GLOB SIM_SERVE_SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/serve*.c)
#     include(${CMAKE_CURRENT_SOURCE_DIR}/serve.cmake)
#     target_sources(snesync-sim PRIVATE ${SIM_SERVE_SOURCES})
#     target_link_libraries(snesync-sim PRIVATE ${SIM_SERVE_LIBS})
#   endif()
# libmicrohttpd itself is found by the top-level CMakeLists.txt (PkgConfig::MHD); gnutls is used
# directly for client certificate checks and sha256.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
if(NOT TARGET PkgConfig::MHD)
  pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
endif()
if(NOT TARGET PkgConfig::GNUTLS)
  pkg_check_modules(GNUTLS REQUIRED IMPORTED_TARGET gnutls)
endif()
list(APPEND SIM_SERVE_LIBS PkgConfig::MHD PkgConfig::GNUTLS Threads::Threads m)
