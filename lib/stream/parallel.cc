#include "stream/parallel.h"

#include <sched.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace govstream::stream {

struct ParallelLines::Chunk {
  enum class Kind : uint8_t { kLine, kTooLong, kSourceError };
  struct Item {
    Kind kind;
    uint32_t source;  // index into names
    uint64_t begin;   // kLine: offset in bytes; kSourceError: index into messages
    uint32_t len;
    uint64_t line;
  };
  std::string bytes;  // the lines, each followed by '\n', then kPadding bytes
  std::vector<Item> items;
  std::vector<std::string> names;
  std::vector<std::string> messages;
  std::vector<LineOutcome> outcomes;
  std::string out, text;
  std::vector<io::LineReader::Position> positions;  // the reader's, just past the last line
  bool done = false;  // set by a worker, under the pool's mutex

  void Clear() {
    bytes.clear();
    items.clear();
    names.clear();
    messages.clear();
    outcomes.clear();
    out.clear();
    text.clear();
    done = false;
  }
  uint32_t Source(const std::string& name) {
    if (names.empty() || names.back() != name) names.push_back(name);
    return static_cast<uint32_t>(names.size() - 1);
  }
  void Process(LineWorker* w) {
    outcomes.assign(items.size(), LineOutcome{});
    for (size_t i = 0; i < items.size(); ++i) {
      const Item& it = items[i];
      if (it.kind != Kind::kLine) continue;
      w->Process(std::string_view(bytes.data() + it.begin, it.len), &outcomes[i], &out, &text);
    }
  }
};

// Worker threads taking chunks from a queue; each has its own LineWorker.
class ParallelLines::Pool {
 public:
  Pool(int threads, const std::function<std::unique_ptr<LineWorker>()>& make) {
    for (int i = 0; i < threads; ++i) {
      workers_.push_back(make());
      threads_.emplace_back([this, w = workers_.back().get()] { Loop(w); });
    }
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
    }
    work_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  void Submit(Chunk* c) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(c);
    }
    work_.notify_one();
  }
  void Wait(Chunk* c) {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [c] { return c->done; });
  }

 private:
  void Loop(LineWorker* w) {
    for (;;) {
      Chunk* c;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_.wait(lock, [this] { return quit_ || !queue_.empty(); });
        if (queue_.empty()) return;  // quit, nothing left
        c = queue_.front();
        queue_.pop_front();
      }
      c->Process(w);
      {
        std::lock_guard<std::mutex> lock(mu_);
        c->done = true;
      }
      done_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable work_, done_;
  std::deque<Chunk*> queue_;
  bool quit_ = false;
  std::vector<std::unique_ptr<LineWorker>> workers_;
  std::vector<std::thread> threads_;
};

int ParallelLines::ThreadsFor(int64_t requested) {
  if (requested > 0) return static_cast<int>(std::min<int64_t>(requested, 256));
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

ParallelLines::ParallelLines(std::vector<io::LineReader::Source> sources, ParallelOptions options,
                             io::Reporter* reporter)
    : options_(std::move(options)),
      reporter_(reporter),
      reader_(std::move(sources), io::LineReader::Options{.max_line_bytes = options_.max_line_bytes,
                                                          .before_block = [this] {
                                                            // Hand on what was read; apply it all.
                                                            if (!filling_->items.empty()) Submit();
                                                            Drain();
                                                            if (!stop_) applied_ = reader_.positions();
                                                            if (options_.before_block) options_.before_block();
                                                          },
                                                          // A stop found while applying (-n reached) ends
                                                          // the wait for more input, as with one thread.
                                                          .idle_tick_ms = options_.idle_tick_ms > 0
                                                                              ? std::min<int64_t>(options_.idle_tick_ms, 50)
                                                                              : 50,
                                                          .on_idle_tick =
                                                              [this] {
                                                                if (!stop_ && options_.on_idle_tick &&
                                                                    !options_.on_idle_tick()) {
                                                                  stop_ = true;
                                                                }
                                                                return !stop_;
                                                              }}),
      pool_(std::make_unique<Pool>(std::max(1, options_.threads), options_.make_worker)),
      filling_(std::make_unique<Chunk>()) {
  applied_ = reader_.positions();
}

ParallelLines::~ParallelLines() {
  // Workers may still hold chunks in flight (after a stop): join them first.
  pool_.reset();
}

void ParallelLines::Submit() {
  filling_->bytes.append(io::LineReader::kPadding, '\0');
  filling_->positions = reader_.positions();
  pool_->Submit(filling_.get());
  in_flight_.push_back(std::move(filling_));
  if (!spare_.empty()) {
    filling_ = std::move(spare_.back());
    spare_.pop_back();
    filling_->Clear();
  } else {
    filling_ = std::make_unique<Chunk>();
  }
}

void ParallelLines::Drain() {
  while (!in_flight_.empty() && !stop_) ApplyFront();
}

bool ParallelLines::ApplyFront() {
  std::unique_ptr<Chunk> c = std::move(in_flight_.front());
  in_flight_.erase(in_flight_.begin());
  pool_->Wait(c.get());
  for (size_t i = 0; i < c->items.size() && !stop_; ++i) {
    const Chunk::Item& it = c->items[i];
    const std::string& source = c->names[it.source];
    switch (it.kind) {
      case Chunk::Kind::kSourceError:
        ++source_errors_;
        reporter_->Error(c->messages[it.begin]);
        break;
      case Chunk::Kind::kTooLong: {
        std::string reason =
            "line longer than --max-line-bytes (" + std::to_string(options_.max_line_bytes) + " bytes); skipped";
        reporter_->Report(io::Problem::kTooLong, source, it.line, reason);
        if (options_.strict) {
          status_ = Status::DataError(reason);
          stop_ = true;
        }
        break;
      }
      case Chunk::Kind::kLine: {
        const LineOutcome& o = c->outcomes[i];
        if (o.record) ++records_;
        if (o.has_problem) {
          std::string_view reason(c->text.data() + o.reason_begin, o.reason_len);
          reporter_->Report(o.problem, source, it.line, reason);
          if (options_.strict) {
            status_ = Status::DataError(std::string(reason));
            stop_ = true;
          }
        } else if (o.kept && !options_.on_kept(std::string_view(c->out.data() + o.out_begin, o.out_len),
                                               std::string_view(c->bytes.data() + it.begin, it.len))) {
          stop_ = true;
        }
        break;
      }
    }
  }
  if (!stop_) applied_.swap(c->positions);
  if (options_.after_chunk) options_.after_chunk();
  if (spare_.size() < 2) spare_.push_back(std::move(c));
  return !stop_;
}

void ParallelLines::Run() {
  const size_t max_in_flight = 2 * static_cast<size_t>(std::max(1, options_.threads));
  while (!stop_) {
    io::LineReader::Event e = reader_.Next();
    if (e == io::LineReader::Event::kEnd) break;
    if (e == io::LineReader::Event::kInterrupted) {
      if (!stop_) status_ = Status::Interrupted();  // a signal, not our own stop
      break;
    }
    Chunk* c = filling_.get();
    Chunk::Item it{};
    it.source = c->Source(reader_.source_name());
    it.line = reader_.line_number();
    if (e == io::LineReader::Event::kSourceError) {
      it.kind = Chunk::Kind::kSourceError;
      it.begin = c->messages.size();
      c->messages.push_back(reader_.message());
    } else if (e == io::LineReader::Event::kTooLong) {
      it.kind = Chunk::Kind::kTooLong;
    } else {
      std::string_view line = reader_.line();
      it.kind = Chunk::Kind::kLine;
      it.begin = c->bytes.size();
      it.len = static_cast<uint32_t>(line.size());
      c->bytes.append(line);
      c->bytes += '\n';
    }
    c->items.push_back(it);
    if (c->bytes.size() >= options_.chunk_bytes || c->items.size() >= 65536) {
      Submit();
      while (in_flight_.size() >= max_in_flight && !stop_) ApplyFront();
    }
  }
  if (!stop_ && !filling_->items.empty()) Submit();
  Drain();
  if (!stop_) applied_ = reader_.positions();  // everything read was applied
}

}  // namespace govstream::stream
