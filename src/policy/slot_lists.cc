// SPDX-License-Identifier: Apache-2.0
#include "policy/slot_lists.h"

namespace wtcachefs {

void SlotLists::PushFront(uint8_t list, uint32_t slot) {
  Remove(slot);
  Ends& ends = ends_[list];
  links_[slot].Set(kNone, ends.front, list);
  if (ends.front != kNone) links_[ends.front].set_prev(slot);
  ends.front = slot;
  if (ends.back == kNone) ends.back = slot;
  ++ends.size;
}

bool SlotLists::Remove(uint32_t slot) {
  Links& links = links_[slot];
  const uint8_t list = links.list();
  if (list == kNoList) return false;
  Ends& ends = ends_[list];
  const uint32_t prev = links.prev(), next = links.next();
  if (prev != kNone) {
    links_[prev].set_next(next);
  } else {
    ends.front = next;
  }
  if (next != kNone) {
    links_[next].set_prev(prev);
  } else {
    ends.back = prev;
  }
  --ends.size;
  links.Set(kNone, kNone, kNoList);
  return true;
}

}  // namespace wtcachefs
