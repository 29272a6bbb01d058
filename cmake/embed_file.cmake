# Embeds one file as a NUL-terminated C string: cmake -DIN=... -DOUT=... -DNAME=... -P embed_file.cmake
file(READ ${IN} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${content}")
file(WRITE ${OUT}.tmp "/* generated from ${IN} by cmake/embed_file.cmake: do not edit */\n"
  "const char ${NAME}[] = {${bytes}0x00};\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
