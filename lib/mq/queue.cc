#include "mq/queue.h"

#include <algorithm>

namespace govstream::mq {

bool Queue::Bind(const Pattern& p) {
  for (const Pattern& b : bindings_) {
    if (b.text() == p.text()) return false;
  }
  bindings_.push_back(p);
  return true;
}

bool Queue::Matches(std::string_view topic) const {
  for (const Pattern& b : bindings_) {
    if (b.Matches(topic)) return true;
  }
  return false;
}

bool Queue::HasRoom(size_t bytes, std::string* why) {
  uint64_t messages = ready() + unacked_count_ + reserved_messages_;
  uint64_t held = bytes_ + reserved_bytes_;
  if (limits_.max_messages != 0 && messages + 1 > limits_.max_messages) {
    *why = "queue '" + name_ + "' is full: " + std::to_string(messages) + " messages (--max-queue-messages " +
           std::to_string(limits_.max_messages) + ")";
  } else if (limits_.max_bytes != 0 && held + bytes > limits_.max_bytes) {
    *why = "queue '" + name_ + "' is full: " + std::to_string(held) + " bytes (--max-queue-bytes " +
           std::to_string(limits_.max_bytes) + ")";
  } else {
    return true;
  }
  ++counters_.refused;
  return false;
}

void Queue::Reserve(size_t bytes) {
  reserved_bytes_ += bytes;
  ++reserved_messages_;
}

void Queue::Unreserve(size_t bytes) {
  reserved_bytes_ -= bytes;
  --reserved_messages_;
}

void Queue::Push(MessageRef m, uint64_t store_seq, bool redelivered, uint32_t record_bytes) {
  bytes_ += m->bytes();
  disk_bytes_ += record_bytes;
  resident_bytes_ += m->bytes();
  ++counters_.in;
  ready_.push_back(Entry{std::move(m), redelivered, record_bytes, store_seq});
}

void Queue::Spill(uint64_t from_seq, uint64_t count, uint64_t bytes, uint64_t record_bytes) {
  if (spilled_ == 0) spill_from_ = from_seq;
  spilled_ += count;
  spilled_bytes_ += bytes;
  spilled_record_bytes_ += record_bytes;
  bytes_ += bytes;
  disk_bytes_ += record_bytes;
  counters_.in += count;
}

void Queue::Unspill(MessageRef m, uint64_t store_seq, bool redelivered, uint32_t record_bytes) {
  --spilled_;
  spilled_bytes_ -= std::min<uint64_t>(spilled_bytes_, m->bytes());
  spilled_record_bytes_ -= std::min<uint64_t>(spilled_record_bytes_, record_bytes);
  resident_bytes_ += m->bytes();
  ready_.push_back(Entry{std::move(m), redelivered, record_bytes, store_seq});
}

void Queue::DropSpilled() {
  bytes_ -= std::min(bytes_, spilled_bytes_);
  disk_bytes_ -= std::min(disk_bytes_, spilled_record_bytes_);
  spilled_ = spilled_bytes_ = spilled_record_bytes_ = 0;
}

void Queue::AddConsumer(uint64_t consumer) {
  if (std::find(consumers_.begin(), consumers_.end(), consumer) == consumers_.end()) consumers_.push_back(consumer);
}

void Queue::RemoveConsumer(uint64_t consumer) {
  consumers_.erase(std::remove(consumers_.begin(), consumers_.end(), consumer), consumers_.end());
  auto it = unacked_.find(consumer);
  if (it == unacked_.end()) return;
  std::vector<std::pair<uint64_t, Entry>> back(it->second.begin(), it->second.end());
  unacked_.erase(it);
  std::sort(back.begin(), back.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto r = back.rbegin(); r != back.rend(); ++r) {
    r->second.redelivered = true;
    resident_bytes_ += r->second.message->bytes();
    ready_.push_front(std::move(r->second));
  }
  unacked_count_ -= back.size();
  counters_.redelivered += back.size();
}

void Queue::Take(uint64_t consumer, size_t max_n, size_t max_bytes, std::vector<Taken>* out) {
  auto& mine = unacked_[consumer];
  size_t bytes = 0;
  while (!ready_.empty() && max_n > 0) {
    Entry& e = ready_.front();
    size_t b = e.message->bytes();
    if (bytes > 0 && bytes + b > max_bytes) break;
    bytes += b;
    uint64_t tag = next_tag_++;
    out->push_back(Taken{tag, e.redelivered, e.message, e.store_seq});
    resident_bytes_ -= b;
    mine.emplace(tag, std::move(e));
    ready_.pop_front();
    ++unacked_count_;
    ++counters_.out;
    --max_n;
  }
}

bool Queue::Ack(uint64_t consumer, uint64_t tag, uint64_t* store_seq) {
  auto it = unacked_.find(consumer);
  if (it == unacked_.end()) return false;
  auto e = it->second.find(tag);
  if (e == it->second.end()) return false;
  bytes_ -= e->second.message->bytes();
  disk_bytes_ -= e->second.record_bytes;
  if (store_seq) *store_seq = e->second.store_seq;
  it->second.erase(e);
  --unacked_count_;
  ++counters_.acked;
  return true;
}

}  // namespace govstream::mq
