#include "policy/slot_lists.h"

namespace wtcachefs {

void SlotLists::PushFront(uint8_t list, uint32_t slot) {
  Remove(slot);
  Ends& ends = ends_[list];
  links_[slot] = Links{kNone, ends.front};
  if (ends.front != kNone) links_[ends.front].prev = slot;
  ends.front = slot;
  if (ends.back == kNone) ends.back = slot;
  ++ends.size;
  list_of_[slot] = list;
}

bool SlotLists::Remove(uint32_t slot) {
  const uint8_t list = list_of_[slot];
  if (list == kNoList) return false;
  Ends& ends = ends_[list];
  const Links links = links_[slot];
  if (links.prev != kNone) {
    links_[links.prev].next = links.next;
  } else {
    ends.front = links.next;
  }
  if (links.next != kNone) {
    links_[links.next].prev = links.prev;
  } else {
    ends.back = links.prev;
  }
  --ends.size;
  list_of_[slot] = kNoList;
  return true;
}

}  // namespace wtcachefs
