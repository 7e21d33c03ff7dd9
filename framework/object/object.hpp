#pragma once
// kernel_object: the header every kernel object (event, socket, listener, NIC, process...)
// carries, as in NT's object manager. Two counts decide its life:
//
// - the reference count: kernel code holds counted references (ref<T>), and every open handle
//   holds one too (as NT's PointerCount includes handles), so ref_count() >= handle_count();
// - the handle count: the handles open on it, in any process's table. When it drops to zero
//   on_last_handle_closed() runs once (a socket starts its close there: no user can reach it
//   any more, but the kernel may still need it for a FIN handshake).
//
// The object is destroyed exactly when both counts are zero, which, handles holding
// references, is the moment the last reference goes. Objects belong to one core: the counts
// are plain integers.
#include "framework/object/access.hpp"
#include "framework/object/object_type.hpp"

#include <cassert>
#include <cstdint>

namespace coronet {

template <class T>
class ref;
class handle_table;

class kernel_object {
public:
    kernel_object(const kernel_object&) = delete;
    kernel_object& operator=(const kernel_object&) = delete;

    object_type type() const noexcept { return type_; }
    // The rights a handle to this object may be granted.
    access_mask valid_access() const noexcept { return valid_; }
    std::uint32_t handle_count() const noexcept { return handles_; }
    std::uint32_t ref_count() const noexcept { return refs_; }

protected:
    kernel_object(object_type type, access_mask valid) noexcept : type_(type), valid_(valid) {}
    explicit kernel_object(object_type type) noexcept
        : kernel_object(type, default_valid_access(type)) {}
    // Only release() destroys an object: never on the stack, never by a plain delete.
    virtual ~kernel_object() = default;

    // Runs once each time the handle count drops to zero. The closing handle's reference is
    // still held while it runs, so the object outlives the call. Closing cannot fail.
    virtual void on_last_handle_closed() noexcept {}

private:
    template <class T>
    friend class ref;
    friend class handle_table;

    void add_ref() noexcept { ++refs_; }
    void release() noexcept {
        assert(refs_ > handles_); // every open handle holds a reference of its own
        if (--refs_ == 0) delete this;
    }
    // A handle holds a reference besides: the table calls add_ref/release around these.
    void add_handle() noexcept { ++handles_; }
    void release_handle() noexcept {
        assert(handles_ > 0);
        if (--handles_ == 0) on_last_handle_closed();
    }

    std::uint32_t refs_ = 0;
    std::uint32_t handles_ = 0;
    object_type type_;
    access_mask valid_;
};

// The base of a concrete object type: fixes the type in the header and names it as
// T::type_id for handle_table::lookup_as<T>. The type id must identify the C++ class that
// lookup_as names (a socket class may have subclasses; lookup_as<socket> then gives the base).
template <object_type Type>
class typed_object : public kernel_object {
public:
    static constexpr object_type type_id = Type;

protected:
    explicit typed_object(access_mask valid = default_valid_access(Type)) noexcept
        : kernel_object(Type, valid) {}
};

} // namespace coronet
