# Embeds the HTML timeline's stylesheet and script in C++ (no network, no npm: the files are read
# at build time and become raw string literals).
#   cmake -DCSS=html_timeline.css -DJS=html_timeline.js -DOUTPUT=html_timeline_assets.cc -P embed_assets.cmake
set(delimiter "troupe_asset")
set(body "// Generated from tools/troupe/html_timeline.css and .js by tools/troupe/embed_assets.cmake.\nnamespace troupe::cli {\n")
foreach(pair "CSS;kHtmlTimelineCss" "JS;kHtmlTimelineJs")
  list(GET pair 0 var)
  list(GET pair 1 symbol)
  file(READ "${${var}}" content)
  string(FIND "${content}" ")${delimiter}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${${var}} contains the raw string delimiter )${delimiter}\"")
  endif()
  string(APPEND body "extern const char ${symbol}[];\nconst char ${symbol}[] = R\"${delimiter}(${content})${delimiter}\";\n")
endforeach()
string(APPEND body "}  // namespace troupe::cli\n")
file(WRITE "${OUTPUT}.tmp" "${body}")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
