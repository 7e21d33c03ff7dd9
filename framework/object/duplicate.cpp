#include "framework/object/duplicate.hpp"

#include "framework/object/ref.hpp"

namespace coronet {

result<handle> duplicate_handle(handle_table& from, handle h, handle_table& to,
                                access_mask rights) {
    auto source = from.lookup_entry(h);
    if (!source) return error{source.error()};
    const access_mask granted = source->rights;
    if (!granted.contains(access::duplicate)) return error{EACCES};
    if (rights == access::all) rights = granted;
    if (!granted.contains(rights)) return error{EACCES};
    // granted holds only rights valid for the object's type, so insert cannot refuse them.
    return to.insert(ref<kernel_object>(source->object), rights);
}

} // namespace coronet
