// The per-peer state machine of mq-broker, as a table (after Malamute's
// mlm_server.xml): for each state, which decoded command (event) runs which
// named action and which state follows. Anything not in the table is refused
// with an ERROR naming the command and the state, and counted.
//
//   state        event            action     next
//   connected    HELLO            welcome    ready
//   ready        PUBLISH          publish    publishing
//   ready        SUBSCRIBE(fan)   subscribe  subscribed
//   ready        SUBSCRIBE(queue) consume    consuming
//   publishing   PUBLISH          publish    publishing
//   subscribed   ACK              ack        subscribed
//   consuming    ACK              ack        consuming
//   any          HEARTBEAT        touch      (same)
//   any          BYE / expired    close      (gone)
//
// Thread-safe (constant data).
#ifndef GOVSTREAM_MQ_BROKER_FSM_H_
#define GOVSTREAM_MQ_BROKER_FSM_H_

namespace govstream::mq {

enum class PeerState { kConnected, kReady, kPublishing, kSubscribed, kConsuming, kGone };
enum class PeerEvent { kHello, kPublish, kSubscribeFanout, kSubscribeQueue, kAck, kHeartbeat, kBye, kExpired };
enum class PeerAction { kRefuse, kWelcome, kPublish, kSubscribe, kConsume, kAck, kTouch, kClose };

struct Transition {
  PeerAction action;
  PeerState next;  // for kRefuse and kTouch: the current state
};

Transition NextTransition(PeerState state, PeerEvent event);
const char* StateName(PeerState s);
const char* EventName(PeerEvent e);

}  // namespace govstream::mq

#endif  // GOVSTREAM_MQ_BROKER_FSM_H_
