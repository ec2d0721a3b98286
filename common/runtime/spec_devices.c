/* common/runtime/spec_devices.c - the device cgroup rules a container from an image gets
 * (common/runtime/spec.h). Apart from spec.c so the static shim, which writes these rules
 * ahead of the spec (shim_prepare_cgroup), links none of the image code. */
#include "common/runtime/spec.h"
#include "common/runtime/spec_int.h"
#include "common/util/mem.h"

/* docker's device cgroup defaults: nothing but mknod, and the standard nodes of /dev. */
void spec_devices_default(struct spec *s, bool privileged)
{
	static const struct {
		char type;
		int64_t major, minor;
	} allowed[] = {{'c', 1, 3}, {'c', 1, 5}, {'c', 1, 7}, {'c', 1, 8},    {'c', 1, 9},
	               {'c', 5, 0}, {'c', 5, 1}, {'c', 5, 2}, {'c', 136, -1}, {'c', 10, 200}};

	if (privileged) {
		device_add(s, true, 'a', -1, -1, "rwm");
		return;
	}
	device_add(s, false, 'a', -1, -1, "rwm");
	device_add(s, true, 'c', -1, -1, "m");
	device_add(s, true, 'b', -1, -1, "m");
	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
		device_add(s, true, allowed[i].type, allowed[i].major, allowed[i].minor, "rwm");
}
