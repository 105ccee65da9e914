#include "portal/http_parser.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "portal/testdata/corpus_text.h"

namespace migsbyu::portal::http {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs AsPairs(const std::multimap<std::string, std::string>& map) {
  return Pairs(map.begin(), map.end());
}

// Small limits, so that each can be crossed with a few bytes.
Limits SmallLimits() {
  Limits limits;
  limits.max_head_bytes = 512;
  limits.max_target_bytes = 64;
  limits.max_body_bytes = 64;
  limits.max_headers = 8;
  return limits;
}

// Every proper prefix of `input` must be incomplete: nothing is refused or completed early.
void ExpectPrefixesIncomplete(std::string_view input, size_t length, const Limits& limits) {
  for (size_t n = 0; n < length; ++n) {
    ParseResult prefix = ParseRequest(input.substr(0, n), limits);
    ASSERT_EQ(prefix.status, ParseStatus::kIncomplete)
        << "prefix of " << n << " bytes: " << prefix.error_detail;
    EXPECT_EQ(prefix.consumed, 0u);
  }
}

void ExpectError(std::string_view input, int status, const Limits& limits = {}) {
  ParseResult result = ParseRequest(input, limits);
  EXPECT_EQ(result.status, ParseStatus::kError) << input;
  EXPECT_EQ(result.error_status, status) << input << ": " << result.error_detail;
  EXPECT_FALSE(result.error_detail.empty());
}

TEST(HttpParserTest, SimpleGetIsComplete) {
  const std::string input =
      "GET /students/?q=a%20b HTTP/1.1\r\nHost: localhost:8000\r\nAccept: */*\r\n\r\n";
  ParseResult result = ParseRequest(input, {});
  ASSERT_EQ(result.status, ParseStatus::kComplete) << result.error_detail;
  EXPECT_EQ(result.consumed, input.size());
  EXPECT_TRUE(result.head_complete);
  EXPECT_FALSE(result.expects_continue);
  const ParsedRequest& request = result.request;
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/students/?q=a%20b");
  EXPECT_EQ(request.path, "/students/");
  EXPECT_EQ(request.query_string, "q=a%20b");
  EXPECT_EQ(AsPairs(request.query), (Pairs{{"q", "a b"}}));
  EXPECT_EQ(AsPairs(request.headers), (Pairs{{"accept", "*/*"}, {"host", "localhost:8000"}}));
  EXPECT_EQ(request.minor_version, 1);
  EXPECT_TRUE(request.keep_alive);
  EXPECT_EQ(request.body, "");
  ExpectPrefixesIncomplete(input, input.size(), {});
}

TEST(HttpParserTest, EmptyBufferIsIncomplete) {
  ParseResult result = ParseRequest("", {});
  EXPECT_EQ(result.status, ParseStatus::kIncomplete);
  EXPECT_FALSE(result.head_complete);
}

TEST(HttpParserTest, EmptyLinesBeforeTheRequestLineAreSkippedAndCounted) {
  const std::string input = "\r\n\n\r\nGET / HTTP/1.1\r\n\r\n";
  ParseResult result = ParseRequest(input, {});
  ASSERT_EQ(result.status, ParseStatus::kComplete) << result.error_detail;
  EXPECT_EQ(result.consumed, input.size());
  EXPECT_EQ(result.request.path, "/");
}

TEST(HttpParserTest, BareLineFeedsEndHeadLines) {
  const std::string input = "GET /a HTTP/1.1\nHost: x\r\nX-B: y\n\nnext";
  ParseResult result = ParseRequest(input, {});
  ASSERT_EQ(result.status, ParseStatus::kComplete) << result.error_detail;
  EXPECT_EQ(result.consumed, input.find("next"));
  EXPECT_EQ(AsPairs(result.request.headers), (Pairs{{"host", "x"}, {"x-b", "y"}}));
}

TEST(HttpParserTest, PostBodyArrivingInSmallPiecesCompletesOnTheLastByte) {
  const std::string body = "{\"name\": \"Ada\", \"gpa\": 3.9}";
  const std::string input =
      "POST /students/ HTTP/1.1\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  const size_t head_size = input.size() - body.size();
  for (size_t n = 0; n < input.size(); ++n) {
    ParseResult partial = ParseRequest(std::string_view(input).substr(0, n), {});
    ASSERT_EQ(partial.status, ParseStatus::kIncomplete) << n << ": " << partial.error_detail;
    EXPECT_EQ(partial.head_complete, n >= head_size) << n;
    if (partial.head_complete) {
      EXPECT_EQ(partial.request.path, "/students/");
    }
  }
  ParseResult result = ParseRequest(input, {});
  ASSERT_EQ(result.status, ParseStatus::kComplete) << result.error_detail;
  EXPECT_EQ(result.consumed, input.size());
  EXPECT_EQ(result.request.body, body);
  EXPECT_EQ(result.request.method, "POST");
}

TEST(HttpParserTest, PipelinedRequestsAreParsedOneAtATime) {
  std::string buffer =
      "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
      "GET /b HTTP/1.1\r\n\r\n"
      "DELETE /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
      "GET /d HTTP/1.1\r\n";
  std::vector<std::pair<std::string, std::string>> seen;
  for (;;) {
    ParseResult result = ParseRequest(buffer, {});
    if (result.status != ParseStatus::kComplete) {
      EXPECT_EQ(result.status, ParseStatus::kIncomplete);
      break;
    }
    seen.emplace_back(result.request.method + " " + result.request.path, result.request.body);
    buffer.erase(0, result.consumed);
  }
  EXPECT_EQ(seen, (Pairs{{"POST /a", "hello"}, {"GET /b", ""}, {"DELETE /c", "abc"}}));
  EXPECT_EQ(buffer, "GET /d HTTP/1.1\r\n");
}

TEST(HttpParserTest, ChunkedBodyIgnoresExtensionsAndDropsTrailers) {
  const std::string input =
      "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n"
      "1 ; a=\"b c\";d\r\n,\r\n"
      "0006\r\n world\r\n"
      "0;last\r\nX-Checksum: 42\r\nX-Other: y\r\n\r\n"
      "GET /next HTTP/1.1\r\n\r\n";
  ParseResult result = ParseRequest(input, {});
  ASSERT_EQ(result.status, ParseStatus::kComplete) << result.error_detail;
  EXPECT_EQ(result.request.body, "hello, world");
  EXPECT_EQ(result.consumed, input.find("GET /next"));
  EXPECT_EQ(result.request.headers.count("x-checksum"), 0u);
  EXPECT_EQ(result.request.headers.find("transfer-encoding")->second, "chunked");
  ExpectPrefixesIncomplete(input, result.consumed, {});
}

TEST(HttpParserTest, KeepAliveFollowsTheVersionAndConnection) {
  auto keep_alive = [](std::string_view version, std::string_view connection_lines) {
    std::string input =
        "GET / " + std::string(version) + "\r\n" + std::string(connection_lines) + "\r\n";
    ParseResult result = ParseRequest(input, {});
    EXPECT_EQ(result.status, ParseStatus::kComplete) << input;
    return result.request.keep_alive;
  };
  EXPECT_TRUE(keep_alive("HTTP/1.1", ""));
  EXPECT_FALSE(keep_alive("HTTP/1.1", "Connection: close\r\n"));
  EXPECT_FALSE(keep_alive("HTTP/1.1", "Connection: Upgrade, CLOSE\r\n"));
  EXPECT_FALSE(keep_alive("HTTP/1.1", "Connection: keep-alive\r\nConnection: close\r\n"));
  EXPECT_TRUE(keep_alive("HTTP/1.1", "Connection: closed\r\n"));
  EXPECT_FALSE(keep_alive("HTTP/1.0", ""));
  EXPECT_TRUE(keep_alive("HTTP/1.0", "Connection: Keep-Alive\r\n"));
  EXPECT_TRUE(keep_alive("HTTP/1.0", "Connection: te,\tkeep-alive ,\r\n"));
  EXPECT_FALSE(keep_alive("HTTP/1.0", "Connection: keep-alive, close\r\n"));
  EXPECT_FALSE(keep_alive("HTTP/1.0", "Keep-Alive: timeout=5\r\n"));
}

TEST(HttpParserTest, MinorVersionIsReported) {
  EXPECT_EQ(ParseRequest("GET / HTTP/1.0\r\n\r\n", {}).request.minor_version, 0);
  EXPECT_EQ(ParseRequest("GET / HTTP/1.1\r\n\r\n", {}).request.minor_version, 1);
}

TEST(HttpParserTest, QueryDecodesPlusPercentRepeatedKeysAndEmptyValues) {
  ParseResult result = ParseRequest(
      "GET /search?q=a+b%2Bc&tag=x&tag=y&empty=&flag&&%C3%A9=caf%c3%a9&k=v=w HTTP/1.1\r\n\r\n", {});
  ASSERT_EQ(result.status, ParseStatus::kComplete) << result.error_detail;
  EXPECT_EQ(result.request.path, "/search");
  EXPECT_EQ(result.request.query_string,
            "q=a+b%2Bc&tag=x&tag=y&empty=&flag&&%C3%A9=caf%c3%a9&k=v=w");
  EXPECT_EQ(AsPairs(result.request.query), (Pairs{{"empty", ""},
                                                  {"flag", ""},
                                                  {"k", "v=w"},
                                                  {"q", "a b+c"},
                                                  {"tag", "x"},
                                                  {"tag", "y"},
                                                  {"\xc3\xa9", "caf\xc3\xa9"}}));
}

TEST(HttpParserTest, PathIsPercentDecodedButPlusStaysAPlus) {
  ParseResult result = ParseRequest("GET /students/S%201+2/ HTTP/1.1\r\n\r\n", {});
  ASSERT_EQ(result.status, ParseStatus::kComplete) << result.error_detail;
  EXPECT_EQ(result.request.path, "/students/S 1+2/");
  EXPECT_EQ(result.request.query_string, "");
  EXPECT_TRUE(result.request.query.empty());
}

TEST(HttpParserTest, BadPercentEscapesAndNulsInPathOrQueryAreRefused) {
  ExpectError("GET /a%2 HTTP/1.1\r\n\r\n", 400);
  ExpectError("GET /a%x0 HTTP/1.1\r\n\r\n", 400);
  ExpectError("GET /a%00 HTTP/1.1\r\n\r\n", 400);
  ExpectError("GET /a?b=%zz HTTP/1.1\r\n\r\n", 400);
  ExpectError("GET /a?b%00=1 HTTP/1.1\r\n\r\n", 400);
}

TEST(HttpParserTest, HeaderNamesAreLowerCasedAndValuesTrimmed) {
  ParseResult result = ParseRequest(
      "GET / HTTP/1.1\r\nX-Request-ID: \t abc def \t\r\nCONTENT-type:application/json\r\n"
      "x-request-id: second\r\nX-Empty:   \r\n\r\n",
      {});
  ASSERT_EQ(result.status, ParseStatus::kComplete) << result.error_detail;
  EXPECT_EQ(AsPairs(result.request.headers), (Pairs{{"content-type", "application/json"},
                                                    {"x-empty", ""},
                                                    {"x-request-id", "abc def"},
                                                    {"x-request-id", "second"}}));
}

TEST(HttpParserTest, ExpectContinueIsReportedWhileTheBodyIsMissing) {
  const std::string head =
      "PUT /students/S1 HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n";
  ParseResult waiting = ParseRequest(head, {});
  EXPECT_EQ(waiting.status, ParseStatus::kIncomplete);
  EXPECT_TRUE(waiting.head_complete);
  EXPECT_TRUE(waiting.expects_continue);
  EXPECT_EQ(waiting.request.method, "PUT");
  EXPECT_EQ(waiting.request.path, "/students/S1");
  EXPECT_EQ(waiting.consumed, 0u);

  ParseResult before_head = ParseRequest(head.substr(0, head.size() - 1), {});
  EXPECT_FALSE(before_head.head_complete);
  EXPECT_FALSE(before_head.expects_continue);

  ParseResult done = ParseRequest(head + "data", {});
  ASSERT_EQ(done.status, ParseStatus::kComplete);
  EXPECT_EQ(done.request.body, "data");
}

TEST(HttpParserTest, ExpectContinueIsIgnoredInHttp10) {
  ParseResult result =
      ParseRequest("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", {});
  EXPECT_TRUE(result.head_complete);
  EXPECT_FALSE(result.expects_continue);
}

TEST(HttpParserTest, ContentLengthWithTransferEncodingIsRefused) {
  ExpectError(
      "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n",
      400);
  ExpectError(
      "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\ncontent-length: 0\r\n\r\n"
      "0\r\n\r\n",
      400);
}

TEST(HttpParserTest, SeveralContentLengthsMustBeIdentical) {
  ParseResult same =
      ParseRequest("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab", {});
  ASSERT_EQ(same.status, ParseStatus::kComplete) << same.error_detail;
  EXPECT_EQ(same.request.body, "ab");
  ExpectError("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", 400);
}

TEST(HttpParserTest, ContentLengthMustBeDigitsThatFit) {
  ExpectError("POST / HTTP/1.1\r\nContent-Length: 1a\r\n\r\n", 400);
  ExpectError("POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n", 400);
  Limits unlimited;
  unlimited.max_body_bytes = SIZE_MAX;
  ParseResult largest =
      ParseRequest("POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n", unlimited);
  EXPECT_EQ(largest.status, ParseStatus::kIncomplete);
  EXPECT_TRUE(largest.head_complete);
}

TEST(HttpParserTest, ObsoleteLineFoldingIsRefused) {
  ExpectError("GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.1\r\nX-A: one\r\n\ttwo\r\n\r\n", 400);
}

TEST(HttpParserTest, WhitespaceBeforeAHeaderColonIsRefused) {
  ExpectError("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);
}

TEST(HttpParserTest, MalformedRequestLinesAreBadRequests) {
  ExpectError("GET\r\n\r\n", 400);
  ExpectError("GET /\r\n\r\n", 400);
  ExpectError("GET  / HTTP/1.1\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.1 \r\n\r\n", 400);
  ExpectError("G@T / HTTP/1.1\r\n\r\n", 400);
  ExpectError("GET /a b HTTP/1.1\r\n\r\n", 400);
  ExpectError("GET /a\x01 HTTP/1.1\r\n\r\n", 400);
  ExpectError("GET students HTTP/1.1\r\n\r\n", 400);
  ExpectError("GET / HTTP/1.x\r\n\r\n", 400);
}

TEST(HttpParserTest, BadBytesAreRefusedBeforeTheLineEnds) {
  ExpectError("\x16\x03\x01", 400);  // a TLS handshake on the plain port
  ExpectError("GET /a\x01", 400);    // a control character in a target still arriving
  ExpectError("GET /\r\r", 400);     // a CR that cannot be the start of CRLF
  EXPECT_EQ(ParseRequest("GET /\r", {}).status, ParseStatus::kIncomplete);
}

TEST(HttpParserTest, AbsoluteAndAsteriskFormsGiveTheirPath) {
  ParseResult absolute = ParseRequest("GET http://localhost:8000/a%20b?x=1 HTTP/1.1\r\n\r\n", {});
  ASSERT_EQ(absolute.status, ParseStatus::kComplete) << absolute.error_detail;
  EXPECT_EQ(absolute.request.target, "http://localhost:8000/a%20b?x=1");
  EXPECT_EQ(absolute.request.path, "/a b");
  EXPECT_EQ(AsPairs(absolute.request.query), (Pairs{{"x", "1"}}));

  ParseResult root = ParseRequest("GET http://localhost HTTP/1.1\r\n\r\n", {});
  ASSERT_EQ(root.status, ParseStatus::kComplete) << root.error_detail;
  EXPECT_EQ(root.request.path, "/");

  ParseResult asterisk = ParseRequest("OPTIONS * HTTP/1.1\r\n\r\n", {});
  ASSERT_EQ(asterisk.status, ParseStatus::kComplete) << asterisk.error_detail;
  EXPECT_EQ(asterisk.request.path, "*");
  ExpectError("GET * HTTP/1.1\r\n\r\n", 400);
  ExpectError("CONNECT localhost:8000 HTTP/1.1\r\n\r\n", 400);
}

TEST(HttpParserTest, TargetLongerThanTheLimitIsRefusedBeforeTheLineEnds) {
  Limits limits;
  limits.max_target_bytes = 16;
  ParseResult at_limit = ParseRequest("GET /" + std::string(15, 'a') + " HTTP/1.1\r\n\r\n", limits);
  EXPECT_EQ(at_limit.status, ParseStatus::kComplete) << at_limit.error_detail;
  ExpectError("GET /" + std::string(16, 'a') + " HTTP/1.1\r\n\r\n", 414, limits);
  // No line end yet: the 17th byte of the target is enough.
  ExpectError("GET /" + std::string(16, 'a'), 414, limits);
  EXPECT_EQ(ParseRequest("GET /" + std::string(15, 'a'), limits).status, ParseStatus::kIncomplete);
  EXPECT_EQ(ParseRequest("GET /" + std::string(16, 'a'), limits).error_detail,
            "Request target longer than 16 bytes");
}

TEST(HttpParserTest, HeadLargerThanTheLimitIsRefusedBeforeTheBlankLine) {
  Limits limits;
  limits.max_head_bytes = 64;
  const std::string head = "GET / HTTP/1.1\r\nX-Pad: " + std::string(37, 'p') + "\r\n\r\n";
  ASSERT_EQ(head.size(), 64u);
  EXPECT_EQ(ParseRequest(head, limits).status, ParseStatus::kComplete);
  std::string over = "GET / HTTP/1.1\r\nX-Pad: " + std::string(38, 'p') + "\r\n\r\n";
  ExpectError(over, 431, limits);
  // Without the blank line: the 65th byte is enough.
  ExpectError(over.substr(0, 65), 431, limits);
  EXPECT_EQ(ParseRequest(over.substr(0, 64), limits).status, ParseStatus::kIncomplete);
  // Empty lines before the request line count, so that a flood of them is bounded too.
  ExpectError(std::string(65, '\n'), 431, limits);
}

TEST(HttpParserTest, MoreHeadersThanTheLimitAreRefused) {
  Limits limits;
  limits.max_headers = 3;
  EXPECT_EQ(ParseRequest("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits).status,
            ParseStatus::kComplete);
  ExpectError("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431, limits);
  ExpectError("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n", 431, limits);
}

TEST(HttpParserTest, ContentLengthOverTheLimitIsRefusedWithoutWaitingForTheBody) {
  ParseResult result = ParseRequest("POST / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", Limits{});
  EXPECT_EQ(result.status, ParseStatus::kError);
  EXPECT_EQ(result.error_status, 413);
  EXPECT_EQ(result.error_detail, "Request body larger than 1048576 bytes");
  ParseResult at_limit = ParseRequest("POST / HTTP/1.1\r\nContent-Length: 1048576\r\n\r\n", {});
  EXPECT_EQ(at_limit.status, ParseStatus::kIncomplete);
  EXPECT_TRUE(at_limit.head_complete);
}

TEST(HttpParserTest, ChunkedBodyOverTheLimitIsRefusedAsSoonAsASizeShowsIt) {
  Limits limits = SmallLimits();
  const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  // 64 bytes in two chunks fit.
  ParseResult fits = ParseRequest(head + "20\r\n" + std::string(32, 'a') + "\r\n20\r\n" +
                                      std::string(32, 'b') + "\r\n0\r\n\r\n",
                                  limits);
  ASSERT_EQ(fits.status, ParseStatus::kComplete) << fits.error_detail;
  EXPECT_EQ(fits.request.body.size(), 64u);
  // The second size alone shows 65 bytes: refused before its data or even its line end.
  ExpectError(head + "20\r\n" + std::string(32, 'a') + "\r\n21", 413, limits);
  ExpectError(head + "41", 413, limits);
  ExpectError(head + std::string(40, 'f'), 413, limits);
}

TEST(HttpParserTest, ChunkedFramingLargerThanTheHeadLimitIsRefused) {
  Limits limits;
  limits.max_head_bytes = 512;
  const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  auto expect_framing_error = [&](const std::string& body) {
    ParseResult result = ParseRequest(head + body, limits);
    EXPECT_EQ(result.error_status, 413);
    EXPECT_EQ(result.error_detail,
              "Chunked framing (sizes, extensions, trailers) larger than 512 bytes");
  };
  // Endless chunk extensions.
  expect_framing_error("1;" + std::string(600, 'x'));
  // Many one-byte chunks: 5 bytes of framing for each byte of data.
  std::string tiny;
  for (int i = 0; i < 100; ++i) tiny += "1\r\nx\r\n";
  EXPECT_EQ(ParseRequest(head + tiny + "0\r\n\r\n", limits).request.body, std::string(100, 'x'));
  for (int i = 0; i < 100; ++i) tiny += "1\r\nx\r\n";
  expect_framing_error(tiny + "0\r\n\r\n");
  // Endless trailers.
  std::string trailers;
  for (int i = 0; i < 60; ++i) trailers += "X-T: 123456\r\n";
  expect_framing_error("0\r\n" + trailers);
}

TEST(HttpParserTest, UnsupportedTransferCodingIsNotImplemented) {
  ExpectError("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501);
  ExpectError("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501);
  ExpectError("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: br\r\n\r\n",
              501);
  ParseResult result = ParseRequest("POST / HTTP/1.1\r\nTransfer-Encoding: x-zip\r\n\r\n", {});
  EXPECT_EQ(result.error_detail, "Transfer coding 'x-zip' is not supported; only chunked is");
}

TEST(HttpParserTest, ChunkedTwiceOrInHttp10IsRefused) {
  ExpectError("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400);
  ExpectError("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
}

TEST(HttpParserTest, MalformedChunksAreBadRequests) {
  const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  ExpectError(head + "g\r\n", 400);
  ExpectError(head + "3\r\nabcd\r\n0\r\n\r\n", 400);  // more data than the size
  ExpectError(head + "3\nabc\r\n0\r\n\r\n", 400);     // bare LF in the framing
  ExpectError(head + "3\r\nabc\n0\r\n\r\n", 400);
  ExpectError(head + "0\r\nX-T: 1\n\r\n", 400);
}

TEST(HttpParserTest, OtherHttpVersionsAreNotSupported) {
  ExpectError("GET / HTTP/2.0\r\n\r\n", 505);
  ExpectError("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);
  ExpectError("GET / HTTP/1.2\r\n\r\n", 505);
}

TEST(HttpParserTest, ErrorDetailQuotesClientBytesEscapedAndShort) {
  ParseResult result =
      ParseRequest("GET / HTTP/1.1\r\nX\x01Y: \\'" + std::string(100, 'z') + "\r\n\r\n", {});
  EXPECT_EQ(result.error_status, 400);
  EXPECT_EQ(result.error_detail, "Header line 'X\\x01Y: \\x5c\\x27" + std::string(33, 'z') +
                                     "'... is not 'name: value' with a token name");
}

TEST(HttpParserTest, PercentDecodeHandlesPlusAndRejectsBadEscapes) {
  EXPECT_EQ(PercentDecode("a+b%20c%2b", true), "a b c+");
  EXPECT_EQ(PercentDecode("a+b%20c%2B", false), "a+b c+");
  EXPECT_EQ(PercentDecode("plain", true), "plain");
  EXPECT_EQ(PercentDecode("", true), "");
  EXPECT_EQ(PercentDecode("%00", false), std::string(1, '\0'));
  EXPECT_EQ(PercentDecode("%", false), std::nullopt);
  EXPECT_EQ(PercentDecode("%a", false), std::nullopt);
  EXPECT_EQ(PercentDecode("a%g0", false), std::nullopt);
  EXPECT_EQ(PercentDecode("%0g", false), std::nullopt);
}

struct CorpusCase {
  int line = 0;
  std::string expected;  // "complete", "incomplete" or a status
  std::string bytes;
};

std::vector<CorpusCase> ReadCorpus(const std::string& path) {
  std::ifstream in(path);
  std::vector<CorpusCase> cases;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.find_first_of(" \t");
    size_t bytes = line.find_first_not_of(" \t", space);
    cases.push_back({number, line.substr(0, space),
                     UnescapeCorpusText(bytes == std::string::npos ? "" : line.substr(bytes))});
  }
  return cases;
}

std::string Outcome(const ParseResult& result) {
  switch (result.status) {
    case ParseStatus::kComplete:
      return "complete";
    case ParseStatus::kIncomplete:
      return "incomplete";
    case ParseStatus::kError:
      return std::to_string(result.error_status);
  }
  return "?";
}

TEST(HttpParserTest, HostileCorpusGivesTheExpectedOutcomeForEveryPrefix) {
  const std::vector<CorpusCase> cases =
      ReadCorpus(std::string(MIGSBYU_PORTAL_TESTDATA) + "/hostile_requests.test");
  ASSERT_GT(cases.size(), 100u);
  const Limits limits = SmallLimits();
  for (const CorpusCase& c : cases) {
    SCOPED_TRACE("hostile_requests.test:" + std::to_string(c.line));
    ParseResult whole = ParseRequest(c.bytes, limits);
    EXPECT_EQ(Outcome(whole), c.expected) << whole.error_detail;
    if (whole.status == ParseStatus::kError) {
      EXPECT_FALSE(whole.error_detail.empty());
    }
    if (whole.status == ParseStatus::kComplete) {
      EXPECT_GT(whole.consumed, 0u);
      EXPECT_LE(whole.consumed, c.bytes.size());
      EXPECT_LE(whole.request.body.size(), limits.max_body_bytes);
    }
    for (size_t n = 0; n < c.bytes.size(); ++n) {
      ParseResult prefix = ParseRequest(std::string_view(c.bytes).substr(0, n), limits);
      if (whole.status == ParseStatus::kComplete && n < whole.consumed) {
        EXPECT_EQ(prefix.status, ParseStatus::kIncomplete) << n << ": " << prefix.error_detail;
      }
      if (prefix.status == ParseStatus::kError) {
        EXPECT_EQ(prefix.error_status, whole.error_status) << n << ": " << prefix.error_detail;
      }
    }
  }
}

}  // namespace
}  // namespace migsbyu::portal::http
