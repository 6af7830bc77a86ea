import CFFmpeg
import CHeif

/// HEIF/AVIF primaries through libheif, which applies `irot`/`imir` itself and converts to 8-bit RGB
/// at full size (slower than the libavcodec path, so only for what that path does not cover, such as AV1).
enum LibheifDecoder {
    /// Loads libheif's decoder plugins once (thread-safe lazy global).
    private static let initialised: Bool = { _ = heif_init(nil); return true }()

    static func picture(fileAt path: String, size: PictureSize) throws(MediaError) -> RGBImage {
        _ = initialised
        guard let context = heif_context_alloc() else { throw MediaError(.thumbnail, .decodeFailed("libheif: out of memory")) }
        defer { heif_context_free(context) }
        heif_context_set_max_decoding_threads(context, HEVCItemDecoder.threadsPerDecoder)
        try check(heif_context_read_from_file(context, path, nil))
        var handle: OpaquePointer?
        try check(heif_context_get_primary_image_handle(context, &handle))
        defer { heif_image_handle_release(handle) }
        try PictureBudget.checkDecoded(width: Int(heif_image_handle_get_width(handle)),
                                       height: Int(heif_image_handle_get_height(handle)), format: AV_PIX_FMT_RGB24)

        guard let options = heif_decoding_options_alloc() else { throw MediaError(.thumbnail, .decodeFailed("libheif: out of memory")) }
        defer { heif_decoding_options_free(options) }
        options.pointee.convert_hdr_to_8bit = 1
        var image: OpaquePointer?
        try check(heif_decode_image(handle, &image, heif_colorspace_RGB, heif_chroma_interleaved_RGB, options))
        defer { heif_image_release(image) }
        return colorDescription(of: handle).toSRGB(try FrameScaler.rgb(from: frame(borrowing: image), size: size))
    }

    /// An `AVFrame` pointing at the decoded image's interleaved RGB (valid while `image` is).
    private static func frame(borrowing image: OpaquePointer?) throws(MediaError) -> Frame {
        var stride: Int32 = 0
        guard let plane = heif_image_get_plane_readonly(image, heif_channel_interleaved, &stride) else {
            throw MediaError(.thumbnail, .decodeFailed("libheif returned no RGB plane"))
        }
        let frame = Frame()
        frame.pointer.pointee.format = AV_PIX_FMT_RGB24.rawValue
        frame.pointer.pointee.width = heif_image_get_width(image, heif_channel_interleaved)
        frame.pointer.pointee.height = heif_image_get_height(image, heif_channel_interleaved)
        frame.setPlane(0, UnsafeMutablePointer(mutating: plane), lineSize: stride)
        return frame
    }

    private static func colorDescription(of handle: OpaquePointer?) -> ColorDescription {
        var description = ColorDescription()
        var nclx: UnsafeMutablePointer<heif_color_profile_nclx>?
        if heif_image_handle_get_nclx_color_profile(handle, &nclx).code == heif_error_Ok, let nclx {
            description.primaries = Int(nclx.pointee.color_primaries.rawValue)
            heif_nclx_color_profile_free(nclx)
        }
        let type = heif_image_handle_get_color_profile_type(handle)
        if type == heif_color_profile_type_prof || type == heif_color_profile_type_rICC {
            var icc = [UInt8](repeating: 0, count: heif_image_handle_get_raw_color_profile_size(handle))
            if !icc.isEmpty, heif_image_handle_get_raw_color_profile(handle, &icc).code == heif_error_Ok {
                description.iccProfile = icc
            }
        }
        return description
    }

    private static func check(_ error: heif_error) throws(MediaError) {
        guard error.code != heif_error_Ok else { return }
        let message = error.message.map { String(cString: $0) } ?? "error \(error.code.rawValue)"
        throw MediaError(.thumbnail, .decodeFailed("libheif: \(message)"))
    }
}
