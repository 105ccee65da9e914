#include "cdc/decoder.h"

#include <gtest/gtest.h>

TEST(DecoderTest, Placeholder) {}
