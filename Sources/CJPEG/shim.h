#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>

/* libjpeg reports a fatal error by calling error_exit, which must not return: it jumps back here. Warnings (a file
   that ends before its picture does: libjpeg then fills the rest in) are counted, not fatal. */
struct keepsake_jpeg_errors {
    struct jpeg_error_mgr manager;
    jmp_buf back;
    int warnings;
    char message[JMSG_LENGTH_MAX];
};

static void keepsake_jpeg_error_exit(j_common_ptr info) {
    struct keepsake_jpeg_errors *errors = (struct keepsake_jpeg_errors *)info->err;
    (*info->err->format_message)(info, errors->message);
    longjmp(errors->back, 1);
}

static void keepsake_jpeg_emit_message(j_common_ptr info, int level) {
    if (level < 0) ((struct keepsake_jpeg_errors *)info->err)->warnings++;
}

/* Decodes the JPEG in `data` to 8-bit RGB at 1/`denominator` of its size (1, 2, 4 or 8, in the DCT), refusing a
   picture of more than `max_pixels`. On success returns 0 with `*pixels` (malloc'd, rows of 3 × width bytes: the
   caller frees it), the size, and the number of warnings (a truncated file's at least one). On failure returns -1
   with libjpeg's message. */
static inline int keepsake_jpeg_decode_rgb(const unsigned char *data, unsigned long size, unsigned int denominator,
                                           unsigned long max_pixels, unsigned char **pixels, int *width, int *height,
                                           int *warnings, char *message, size_t message_size) {
    struct jpeg_decompress_struct info;
    struct keepsake_jpeg_errors errors;
    unsigned char *volatile out = NULL;
    memset(&errors, 0, sizeof errors);
    info.err = jpeg_std_error(&errors.manager);
    errors.manager.error_exit = keepsake_jpeg_error_exit;
    errors.manager.emit_message = keepsake_jpeg_emit_message;
    *pixels = NULL;
    if (setjmp(errors.back)) {
        snprintf(message, message_size, "%s", errors.message);
        jpeg_destroy_decompress(&info);
        free(out);
        return -1;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, size);
    jpeg_read_header(&info, TRUE);
    info.scale_num = 1;
    info.scale_denom = denominator;
    info.out_color_space = JCS_RGB;
    jpeg_calc_output_dimensions(&info);
    if ((unsigned long)info.output_width * info.output_height > max_pixels) {
        snprintf(message, message_size, "the picture is %ux%u at 1/%u, larger than a decode may be", info.output_width,
                 info.output_height, denominator);
        jpeg_destroy_decompress(&info);
        return -1;
    }
    jpeg_start_decompress(&info);
    size_t stride = (size_t)info.output_width * 3;
    out = malloc(stride * info.output_height);
    if (out == NULL) {
        snprintf(message, message_size, "out of memory");
        jpeg_destroy_decompress(&info);
        return -1;
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = out + stride * info.output_scanline;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    *width = (int)info.output_width;
    *height = (int)info.output_height;
    *warnings = errors.warnings;
    *pixels = out;
    jpeg_destroy_decompress(&info);
    return 0;
}
