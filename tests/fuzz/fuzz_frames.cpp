// libFuzzer target: the broker's frame decoders (lib/mq/protocol.h). The
// first input byte picks the command, the rest is the body frame. Decoders
// must never crash, read out of bounds or allocate beyond the frame.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "mq/protocol.h"

namespace gp = govstream::mq::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  gp::Command c;
  (void)gp::DecodeHeader(body.substr(0, 4), &c);
  switch (data[0] % 9) {
    case 0: {
      gp::Hello h;
      (void)gp::DecodeHello(body, &h);
      break;
    }
    case 1: {
      gp::Welcome w;
      (void)gp::DecodeWelcome(body, &w);
      break;
    }
    case 2: {
      gp::PublishBatch b;
      if (gp::DecodePublish(body, &b).ok()) {
        std::string again;
        gp::EncodePublish(b, &again);
        if (again != body) __builtin_trap();  // decode . encode must be the identity
      }
      break;
    }
    case 3: {
      gp::Confirm cf;
      (void)gp::DecodeConfirm(body, &cf);
      break;
    }
    case 4: {
      gp::Subscribe s;
      (void)gp::DecodeSubscribe(body, &s);
      break;
    }
    case 5: {
      gp::Subscribed s;
      (void)gp::DecodeSubscribed(body, &s);
      break;
    }
    case 6: {
      std::vector<gp::Delivery> ds;
      (void)gp::DecodeDeliver(body, &ds);
      break;
    }
    case 7: {
      gp::Ack a;
      (void)gp::DecodeAck(body, &a);
      break;
    }
    default: {
      std::string_view reason;
      (void)gp::DecodeReason(body, &reason);
      break;
    }
  }
  return 0;
}
