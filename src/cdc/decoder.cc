#include "cdc/decoder.h"

#include <algorithm>

#include "cdc/value_codec.h"

namespace migsbyu::cdc {

using events::Operation;
using events::Row;
using events::TableSchema;
using events::Value;

namespace {

// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
constexpr int64_t kPostgresEpochOffsetUs = 946684800LL * 1000000LL;

// Bounds-checked reader over one message. Every read fails (returns false) past the end.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  bool U8(uint8_t* v) {
    if (pos_ + 1 > data_.size()) return false;
    *v = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool U16(uint16_t* v) {
    uint64_t x;
    if (!Big(2, &x)) return false;
    *v = static_cast<uint16_t>(x);
    return true;
  }
  bool U32(uint32_t* v) {
    uint64_t x;
    if (!Big(4, &x)) return false;
    *v = static_cast<uint32_t>(x);
    return true;
  }
  bool U64(uint64_t* v) { return Big(8, v); }
  bool LsnField(Lsn* v) {
    uint64_t x;
    if (!U64(&x)) return false;
    *v = Lsn(x);
    return true;
  }
  // PostgreSQL timestamps: µs since 2000-01-01, converted to µs since the Unix epoch.
  bool Time(int64_t* v) {
    uint64_t x;
    if (!U64(&x)) return false;
    // Out of range (past year 294,000) is as malformed as a short read.
    return !__builtin_add_overflow(static_cast<int64_t>(x), kPostgresEpochOffsetUs, v);
  }
  // NUL-terminated string.
  bool CString(std::string* v) {
    size_t end = data_.find('\0', pos_);
    if (end == std::string_view::npos) return false;
    v->assign(data_.data() + pos_, end - pos_);
    pos_ = end + 1;
    return true;
  }
  bool Bytes(size_t n, std::string_view* v) {
    if (n > data_.size() - pos_) return false;
    *v = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool AtEnd() const { return pos_ == data_.size(); }
  size_t position() const { return pos_; }

 private:
  bool Big(size_t n, uint64_t* v) {
    if (n > data_.size() - pos_) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; ++i) x = (x << 8) | static_cast<uint8_t>(data_[pos_ + i]);
    pos_ += n;
    *v = x;
    return true;
  }

  std::string_view data_;
  size_t pos_ = 0;
};

bool IsStreamableDataMessage(char type) {
  switch (type) {
    case 'R':
    case 'Y':
    case 'I':
    case 'U':
    case 'D':
    case 'T':
    case 'M':
      return true;
    default:
      return false;
  }
}

class MessageParser {
 public:
  MessageParser(std::string_view data, Lsn lsn,
                std::unordered_map<uint32_t, std::shared_ptr<const TableSchema>>* relations,
                const KeyResolver& key_resolver)
      : r_(data), data_(data), lsn_(lsn), relations_(relations), key_resolver_(key_resolver) {}

  Error Corrupt(const std::string& what) const {
    std::string type = data_.empty() ? "empty" : std::string("'") + data_[0] + "'";
    return Error::Corruption("pgoutput message " + type + " at LSN " + lsn_.ToString() + " (" +
                             std::to_string(data_.size()) + " bytes): " + what + " at byte " +
                             std::to_string(r_.position()));
  }

  Result<DecodedMessage> Parse(bool streamed) {
    uint8_t type;
    if (!r_.U8(&type)) return Corrupt("empty message");
    DecodedMessage out;
    if (streamed) {
      if (!IsStreamableDataMessage(static_cast<char>(type))) {
        return Corrupt("message type not allowed inside a stream");
      }
      if (!r_.U32(&out.xid)) return Corrupt("truncated xid");
    }
    Result<PgOutputMessage> message = ParseBody(static_cast<char>(type));
    if (!message.ok()) return std::move(message).error();
    if (!r_.AtEnd()) return Corrupt("trailing bytes");
    out.message = std::move(message).value();
    return out;
  }

 private:
  Result<PgOutputMessage> ParseBody(char type) {
    switch (type) {
      case 'B': {
        BeginMessage m;
        if (!r_.LsnField(&m.final_lsn) || !r_.Time(&m.commit_time_us) || !r_.U32(&m.xid)) {
          return Corrupt("truncated Begin or time out of range");
        }
        return PgOutputMessage(m);
      }
      case 'C': {
        CommitMessage m;
        if (!r_.U8(&m.flags) || !r_.LsnField(&m.commit_lsn) || !r_.LsnField(&m.end_lsn) ||
            !r_.Time(&m.commit_time_us)) {
          return Corrupt("truncated Commit or time out of range");
        }
        if (m.end_lsn < m.commit_lsn) return Corrupt("Commit end LSN before commit LSN");
        return PgOutputMessage(m);
      }
      case 'O': {
        OriginMessage m;
        if (!r_.LsnField(&m.origin_lsn) || !r_.CString(&m.name)) return Corrupt("truncated Origin");
        return PgOutputMessage(m);
      }
      case 'R':
        return ParseRelation();
      case 'Y': {
        TypeMessage m;
        if (!r_.U32(&m.type_oid) || !r_.CString(&m.schema) || !r_.CString(&m.name)) {
          return Corrupt("truncated Type");
        }
        return PgOutputMessage(m);
      }
      case 'I':
        return ParseRow(Operation::kInsert);
      case 'U':
        return ParseRow(Operation::kUpdate);
      case 'D':
        return ParseRow(Operation::kDelete);
      case 'T':
        return ParseTruncate();
      case 'M': {
        LogicalMessage m;
        uint8_t flags;
        uint32_t length;
        std::string_view content;
        if (!r_.U8(&flags) || !r_.LsnField(&m.lsn) || !r_.CString(&m.prefix) || !r_.U32(&length) ||
            !r_.Bytes(length, &content)) {
          return Corrupt("truncated Message");
        }
        m.transactional = flags & 1;
        m.content.assign(content);
        return PgOutputMessage(m);
      }
      case 'S': {
        StreamStartMessage m;
        uint8_t first;
        if (!r_.U32(&m.xid) || !r_.U8(&first)) return Corrupt("truncated Stream Start");
        m.first_segment = first == 1;
        return PgOutputMessage(m);
      }
      case 'E':
        return PgOutputMessage(StreamStopMessage{});
      case 'c': {
        StreamCommitMessage m;
        if (!r_.U32(&m.xid) || !r_.U8(&m.flags) || !r_.LsnField(&m.commit_lsn) ||
            !r_.LsnField(&m.end_lsn) || !r_.Time(&m.commit_time_us)) {
          return Corrupt("truncated Stream Commit or time out of range");
        }
        if (m.end_lsn < m.commit_lsn) return Corrupt("Stream Commit end LSN before commit LSN");
        return PgOutputMessage(m);
      }
      case 'A': {
        StreamAbortMessage m;
        if (!r_.U32(&m.xid) || !r_.U32(&m.subxid)) return Corrupt("truncated Stream Abort");
        return PgOutputMessage(m);
      }
      default:
        return Corrupt("unknown message type");
    }
  }

  Result<PgOutputMessage> ParseRelation() {
    auto table = std::make_shared<TableSchema>();
    RelationMessage m;
    uint8_t identity;
    uint16_t ncols;
    if (!r_.U32(&table->relation_id) || !r_.CString(&table->schema) || !r_.CString(&table->name) ||
        !r_.U8(&identity) || !r_.U16(&ncols)) {
      return Corrupt("truncated Relation");
    }
    if (table->schema.empty()) table->schema = "pg_catalog";
    m.replica_identity = static_cast<char>(identity);
    table->columns.reserve(ncols);
    for (uint16_t i = 0; i < ncols; ++i) {
      events::Column c;
      uint8_t flags;
      uint32_t typmod;
      if (!r_.U8(&flags) || !r_.CString(&c.name) || !r_.U32(&c.type_oid) || !r_.U32(&typmod)) {
        return Corrupt("truncated Relation column " + std::to_string(i));
      }
      c.key = flags & 1;
      c.type_modifier = static_cast<int32_t>(typmod);
      c.type = ValueTypeForOid(c.type_oid);
      table->columns.push_back(std::move(c));
    }
    if (m.replica_identity == 'f' && key_resolver_) {
      auto keys = key_resolver_(table->relation_id, table->schema, table->name);
      if (!keys.ok()) {
        return keys.error().WithContext("primary key of " + table->schema + "." + table->name);
      }
      for (auto& c : table->columns) {
        c.key = std::find(keys->begin(), keys->end(), c.name) != keys->end();
      }
    }
    (*relations_)[table->relation_id] = table;
    m.table = std::move(table);
    return PgOutputMessage(std::move(m));
  }

  Result<std::shared_ptr<const TableSchema>> Relation() {
    uint32_t relid;
    if (!r_.U32(&relid)) return Corrupt("truncated relation id");
    auto it = relations_->find(relid);
    if (it == relations_->end())
      return Corrupt("change for undescribed relation " + std::to_string(relid));
    return it->second;
  }

  Result<Row> Tuple(const TableSchema& table) {
    uint16_t ncols;
    if (!r_.U16(&ncols)) return Corrupt("truncated tuple");
    if (ncols != table.columns.size()) {
      return Corrupt("tuple of " + std::to_string(ncols) + " columns for " + table.name + " of " +
                     std::to_string(table.columns.size()));
    }
    Row row;
    row.reserve(ncols);
    for (uint16_t i = 0; i < ncols; ++i) {
      uint8_t kind;
      if (!r_.U8(&kind)) return Corrupt("truncated tuple column " + std::to_string(i));
      switch (kind) {
        case 'n':
          row.push_back(Value::Null());
          break;
        case 'u':
          row.push_back(Value::UnchangedToast());
          break;
        case 't': {
          uint32_t length;
          std::string_view text;
          if (!r_.U32(&length) || !r_.Bytes(length, &text)) {
            return Corrupt("truncated value of " + table.name + "." + table.columns[i].name);
          }
          auto v = ParseTextValue(table.columns[i].type, text);
          if (!v.ok())
            return Corrupt(table.name + "." + table.columns[i].name + ": " + v.error().message());
          row.push_back(std::move(v).value());
          break;
        }
        default:
          return Corrupt("value kind '" + std::string(1, static_cast<char>(kind)) + "' in " +
                         table.name + "." + table.columns[i].name);
      }
    }
    return row;
  }

  Result<PgOutputMessage> ParseRow(Operation op) {
    MIGSBYU_ASSIGN(auto table, Relation());
    RowMessage m;
    m.op = op;
    uint8_t tag;
    if (!r_.U8(&tag)) return Corrupt("truncated row");
    if (op != Operation::kInsert && (tag == 'K' || tag == 'O')) {
      MIGSBYU_ASSIGN(m.before, Tuple(*table));
      if (op == Operation::kUpdate && !r_.U8(&tag)) return Corrupt("truncated row");
    }
    if (op == Operation::kDelete) {
      if (!m.before) return Corrupt("Delete without old tuple");
    } else {
      if (tag != 'N') return Corrupt("expected new tuple 'N'");
      MIGSBYU_ASSIGN(m.after, Tuple(*table));
    }
    if (m.before && m.after) {
      for (size_t i = 0; i < m.after->size(); ++i) {
        if ((*m.after)[i].state == Value::State::kUnchangedToast &&
            (*m.before)[i].state != Value::State::kUnchangedToast) {
          (*m.after)[i] = (*m.before)[i];
        }
      }
    }
    m.table = std::move(table);
    return PgOutputMessage(std::move(m));
  }

  Result<PgOutputMessage> ParseTruncate() {
    TruncateMessage m;
    uint32_t n;
    uint8_t options;
    if (!r_.U32(&n) || !r_.U8(&options)) return Corrupt("truncated Truncate");
    if (n > (1u << 20)) return Corrupt("Truncate of " + std::to_string(n) + " relations");
    m.cascade = options & 1;
    m.restart_identity = options & 2;
    for (uint32_t i = 0; i < n; ++i) {
      MIGSBYU_ASSIGN(auto table, Relation());
      m.tables.push_back(std::move(table));
    }
    return PgOutputMessage(std::move(m));
  }

  Reader r_;
  std::string_view data_;
  Lsn lsn_;
  std::unordered_map<uint32_t, std::shared_ptr<const TableSchema>>* relations_;
  const KeyResolver& key_resolver_;
};

}  // namespace

Result<DecodedMessage> Decoder::Decode(std::string_view data, Lsn lsn) {
  bool streamed = in_stream_ && !data.empty() && IsStreamableDataMessage(data[0]);
  MIGSBYU_ASSIGN(DecodedMessage m, DecodeImpl(data, lsn, streamed));
  if (std::holds_alternative<StreamStartMessage>(m.message)) {
    if (in_stream_)
      return Error::Corruption("Stream Start inside a stream at LSN " + lsn.ToString());
    in_stream_ = true;
  } else if (std::holds_alternative<StreamStopMessage>(m.message)) {
    if (!in_stream_)
      return Error::Corruption("Stream Stop outside a stream at LSN " + lsn.ToString());
    in_stream_ = false;
  }
  return m;
}

Result<DecodedMessage> Decoder::DecodeStreamed(std::string_view data, Lsn lsn) {
  return DecodeImpl(data, lsn, true);
}

Result<DecodedMessage> Decoder::DecodeImpl(std::string_view data, Lsn lsn, bool streamed) {
  return MessageParser(data, lsn, &relations_, key_resolver_).Parse(streamed);
}

Result<uint32_t> Decoder::StreamedXid(std::string_view data, Lsn lsn) {
  if (data.size() < 5 || !IsStreamableDataMessage(data[0])) {
    return Error::Corruption("pgoutput message at LSN " + lsn.ToString() +
                             ": not a streamed data message");
  }
  uint32_t xid = 0;
  for (int i = 1; i <= 4; ++i) xid = (xid << 8) | static_cast<uint8_t>(data[i]);
  return xid;
}

void Decoder::Reset() {
  relations_.clear();
  in_stream_ = false;
}

std::shared_ptr<const TableSchema> Decoder::FindRelation(uint32_t relation_id) const {
  auto it = relations_.find(relation_id);
  return it == relations_.end() ? nullptr : it->second;
}

}  // namespace migsbyu::cdc
