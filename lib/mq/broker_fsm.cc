#include "mq/broker_fsm.h"

namespace govstream::mq {
namespace {

struct Row {
  PeerState state;
  PeerEvent event;
  PeerAction action;
  PeerState next;
};

constexpr Row kTable[] = {
    {PeerState::kConnected, PeerEvent::kHello, PeerAction::kWelcome, PeerState::kReady},
    {PeerState::kReady, PeerEvent::kPublish, PeerAction::kPublish, PeerState::kPublishing},
    {PeerState::kReady, PeerEvent::kSubscribeFanout, PeerAction::kSubscribe, PeerState::kSubscribed},
    {PeerState::kReady, PeerEvent::kSubscribeQueue, PeerAction::kConsume, PeerState::kConsuming},
    {PeerState::kPublishing, PeerEvent::kPublish, PeerAction::kPublish, PeerState::kPublishing},
    {PeerState::kSubscribed, PeerEvent::kAck, PeerAction::kAck, PeerState::kSubscribed},
    {PeerState::kConsuming, PeerEvent::kAck, PeerAction::kAck, PeerState::kConsuming},
};

}  // namespace

Transition NextTransition(PeerState state, PeerEvent event) {
  if (state == PeerState::kGone) return {PeerAction::kRefuse, state};
  switch (event) {
    case PeerEvent::kHeartbeat:
      return {PeerAction::kTouch, state};
    case PeerEvent::kBye:
    case PeerEvent::kExpired:
      return {PeerAction::kClose, PeerState::kGone};
    default:
      break;
  }
  for (const Row& r : kTable) {
    if (r.state == state && r.event == event) return {r.action, r.next};
  }
  return {PeerAction::kRefuse, state};
}

const char* StateName(PeerState s) {
  switch (s) {
    case PeerState::kConnected: return "connected (no HELLO yet)";
    case PeerState::kReady: return "ready";
    case PeerState::kPublishing: return "publishing";
    case PeerState::kSubscribed: return "subscribed";
    case PeerState::kConsuming: return "consuming";
    case PeerState::kGone: return "gone";
  }
  return "?";
}

const char* EventName(PeerEvent e) {
  switch (e) {
    case PeerEvent::kHello: return "HELLO";
    case PeerEvent::kPublish: return "PUBLISH";
    case PeerEvent::kSubscribeFanout: return "SUBSCRIBE";
    case PeerEvent::kSubscribeQueue: return "SUBSCRIBE (queue)";
    case PeerEvent::kAck: return "ACK";
    case PeerEvent::kHeartbeat: return "HEARTBEAT";
    case PeerEvent::kBye: return "BYE";
    case PeerEvent::kExpired: return "expiry";
  }
  return "?";
}

}  // namespace govstream::mq
