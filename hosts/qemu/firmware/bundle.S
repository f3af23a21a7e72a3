/* The JS program linked into the image: the build passes its path as FIRMWARE_BUNDLE_PATH. */
	.section .rodata.firmware_bundle, "a"
	.global firmware_bundle
	.global firmware_bundle_end
	.balign 4
firmware_bundle:
	.incbin FIRMWARE_BUNDLE_PATH
firmware_bundle_end:
	.byte 0
