#include "lake/column_changes.h"

#include <gtest/gtest.h>

namespace migsbyu::lake {
namespace {

using iceberg::Type;
using iceberg::TypeId;
using Kind = ColumnChange::Kind;

const Type kText = Type::Of(TypeId::kString);
const Type kInt = Type::Of(TypeId::kInt);
const Type kLong = Type::Of(TypeId::kLong);

TEST(ColumnChangesTest, SameColumnsChangeNothing) {
  std::vector<RelationColumn> cols{{"id", kText}, {"name", kText}};
  EXPECT_TRUE(DiffColumns(cols, cols).empty());
}

TEST(ColumnChangesTest, ANameReplacedInPlaceByOneOfTheSameTypeIsARename) {
  EXPECT_EQ(DiffColumns({{"id", kText}, {"name", kText}, {"n", kInt}},
                        {{"id", kText}, {"title", kText}, {"n", kInt}}),
            (std::vector<ColumnChange>{{Kind::kRename, "name", "title", kText}}));
  // The last column too, and a rename that also widens.
  EXPECT_EQ(DiffColumns({{"id", kText}, {"n", kInt}}, {{"id", kText}, {"m", kLong}}),
            (std::vector<ColumnChange>{{Kind::kRename, "n", "m", kLong}}));
}

TEST(ColumnChangesTest, ANameGoneIsADropAndANewOneAtTheEndAnAdd) {
  EXPECT_EQ(
      DiffColumns({{"id", kText}, {"x", kText}, {"n", kInt}},
                  {{"id", kText}, {"n", kInt}, {"z", kText}}),
      (std::vector<ColumnChange>{{Kind::kDrop, "x", "", kText}, {Kind::kAdd, "z", "", kText}}));
  EXPECT_EQ(DiffColumns({{"id", kText}, {"x", kText}}, {{"id", kText}}),
            (std::vector<ColumnChange>{{Kind::kDrop, "x", "", kText}}));
}

TEST(ColumnChangesTest, AReplacementOfAnotherTypeIsADropAndAnAdd) {
  EXPECT_EQ(
      DiffColumns({{"id", kText}, {"x", kText}}, {{"id", kText}, {"n", kInt}}),
      (std::vector<ColumnChange>{{Kind::kDrop, "x", "", kText}, {Kind::kAdd, "n", "", kInt}}));
}

TEST(ColumnChangesTest, RenameAndAddBetweenTwoChangesAreBothFound) {
  EXPECT_EQ(
      DiffColumns({{"id", kText}, {"name", kText}}, {{"id", kText}, {"title", kText}, {"z", kInt}}),
      (std::vector<ColumnChange>{{Kind::kRename, "name", "title", kText},
                                 {Kind::kAdd, "z", "", kInt}}));
}

TEST(ColumnChangesTest, AWiderTypeIsAWideningAndAnotherARetype) {
  EXPECT_EQ(DiffColumns({{"id", kText}, {"n", kInt}, {"d", Type::Decimal(3, 2)}},
                        {{"id", kText}, {"n", kLong}, {"d", Type::Decimal(5, 2)}}),
            (std::vector<ColumnChange>{{Kind::kWiden, "n", "", kLong},
                                       {Kind::kWiden, "d", "", Type::Decimal(5, 2)}}));
  EXPECT_EQ(DiffColumns({{"id", kText}, {"n", kLong}}, {{"id", kText}, {"n", kText}}),
            (std::vector<ColumnChange>{{Kind::kRetype, "n", "", kText}}));
}

}  // namespace
}  // namespace migsbyu::lake
