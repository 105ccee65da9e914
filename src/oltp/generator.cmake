# The random data generator and the activity simulator (generator.cc, simulator.cc), included
# from CMakeLists.txt. Their sources and tests are picked up by migsbyu_oltp's glob there; this
# file adds the word lists of data/, embedded into the library at build time.
file(GLOB oltp_gen_data CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_SOURCE_DIR}/data/*.txt ${CMAKE_CURRENT_SOURCE_DIR}/data/*.tsv)
set(oltp_gen_embedded ${CMAKE_CURRENT_BINARY_DIR}/embedded_data.cc)
add_custom_command(
  OUTPUT ${oltp_gen_embedded}
  COMMAND ${CMAKE_COMMAND} -DDATA_DIR=${CMAKE_CURRENT_SOURCE_DIR}/data
          -DOUTPUT=${oltp_gen_embedded} -P ${CMAKE_CURRENT_SOURCE_DIR}/data/embed.cmake
  DEPENDS ${oltp_gen_data} ${CMAKE_CURRENT_SOURCE_DIR}/data/embed.cmake
  COMMENT "Embedding the generator's word lists"
  VERBATIM)
target_sources(migsbyu_oltp PRIVATE ${oltp_gen_embedded})

# migsbyu_oltp_gen names the generator for the targets that use it; it lives in migsbyu_oltp.
add_library(migsbyu_oltp_gen INTERFACE)
target_link_libraries(migsbyu_oltp_gen INTERFACE migsbyu_oltp)
