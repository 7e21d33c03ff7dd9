#pragma once
// duplicate_handle: NT's DuplicateHandle. Opens in `to` a new handle on the object `h` names in
// `from`, granting `rights`, which must be among the rights of `h` (a duplicate may be weaker,
// never stronger; access::all asks for the same rights as `h`). The tables may be the same or
// belong to two processes; the new handle keeps the object alive on its own.
//
// Errors: EBADF when `h` is not open in `from`; EACCES when `h` lacks the duplicate right or
// `rights` asks for more than `h` grants; EMFILE when `to` is full.
#include "framework/object/access.hpp"
#include "framework/object/handle.hpp"
#include "framework/object/handle_table.hpp"
#include "framework/result.hpp"

namespace coronet {

result<handle> duplicate_handle(handle_table& from, handle h, handle_table& to, access_mask rights);

} // namespace coronet
