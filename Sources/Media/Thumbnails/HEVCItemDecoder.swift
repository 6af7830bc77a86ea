import CFFmpeg
import MediaTypes

/// Decodes a HEIF image item coded in HEVC (`hvc1`, or a `grid` of `hvc1` tiles) with libavcodec, reading
/// each tile from the file by offset and stitching the tiles into one picture cropped to the grid's size.
struct HEVCItemDecoder {
    let container: HEIFContainer
    let file: MediaFile
    let skipLoopFilter: Bool
    /// The pool runs one job per core, so each decoder gets two threads at most.
    static let threadsPerDecoder: Int32 = 2

    /// True when the item is something this decoder handles: HEVC coded, with its configuration.
    static func canDecode(_ id: UInt32, in container: HEIFContainer) -> Bool {
        func isConfiguredHEVC(_ id: UInt32) -> Bool {
            container.items[id]?.type == "hvc1" && configuration(of: id, in: container) != nil
        }
        switch container.items[id]?.type {
        case "hvc1": return isConfiguredHEVC(id)
        case "grid": return (container.derivedFrom[id] ?? []).allSatisfy(isConfiguredHEVC)
        default: return false
        }
    }

    func decode(_ id: UInt32) throws(MediaError) -> Frame {
        guard let item = container.items[id] else { throw corruptHEIF("no item \(id)") }
        if item.type == "grid" { return try decodeGrid(id) }
        let decoder = try makeDecoder(for: id)
        var picture: Frame?
        let keep: (Frame) throws(MediaError) -> Void = { picture = picture ?? $0 }
        try decoder.decode(packet(of: id), into: keep)
        try decoder.decode(nil, into: keep)
        guard let picture else { throw corruptHEIF("item \(id) decoded to no picture") }
        return picture
    }

    private func decodeGrid(_ id: UInt32) throws(MediaError) -> Frame {
        let layout = try GridLayout(packet(of: id).contents)
        let tiles = container.derivedFrom[id] ?? []
        guard tiles.count == layout.rows * layout.columns else {
            throw corruptHEIF("grid of \(layout.rows)×\(layout.columns) has \(tiles.count) tiles")
        }
        let decoder = try makeDecoder(for: tiles[0])
        var canvas: Canvas?
        var placed = 0
        let place: (Frame) throws(MediaError) -> Void = { tile in
            if canvas == nil { canvas = try Canvas(layout: layout, firstTile: tile) }
            try canvas!.place(tile, at: Int(tile.pointer.pointee.pts))
            placed += 1
        }
        for (index, tile) in tiles.enumerated() {
            try decoder.decode(packet(of: tile), pts: Int64(index), into: place)
        }
        try decoder.decode(nil, into: place)
        guard let canvas, placed == tiles.count else {
            throw corruptHEIF("only \(placed) of \(tiles.count) grid tiles decoded")
        }
        return canvas.croppedFrame
    }

    /// The bytes of item `id` (its extents concatenated), read from the file or `idat`.
    private func packet(of id: UInt32) throws(MediaError) -> Packet {
        guard let sources = container.sources(of: id, fileSize: file.size) else {
            throw corruptHEIF("item \(id) has no location inside the file")
        }
        if sources.count == 1, case .file(let offset, let count) = sources[0] { return try file.packet(at: offset, count: count) }
        let size = sources.reduce(0) { $0 + $1.count }
        try PictureBudget.checkCompressed(size)
        let packet = try Packet(size: size, stage: .thumbnail)
        var written = 0
        for source in sources {
            let target = UnsafeMutableBufferPointer(rebasing: packet.bytes[written..<written + source.count])
            switch source {
            case .file(let offset, _): try file.fill(target, from: offset)
            case .itemData(let range): _ = target.update(fromContentsOf: container.itemData[range])
            }
            written += source.count
        }
        return packet
    }

    private static func configuration(of id: UInt32, in container: HEIFContainer) -> [UInt8]? {
        container.properties(of: id).lazy.compactMap { property -> [UInt8]? in
            if case .hevcConfiguration(let record) = property { record } else { nil }
        }.first
    }

    private func makeDecoder(for id: UInt32) throws(MediaError) -> PictureDecoder {
        guard let configuration = Self.configuration(of: id, in: container) else {
            throw corruptHEIF("HEVC item \(id) has no hvcC configuration")
        }
        return try PictureDecoder(codec: AV_CODEC_ID_HEVC, extradata: configuration, threads: Self.threadsPerDecoder,
                                  skipLoopFilter: skipLoopFilter)
    }
}

/// A `grid` item's body: how many tiles across and down, and the size of the picture they make.
struct GridLayout {
    var rows: Int
    var columns: Int
    var outputWidth: Int
    var outputHeight: Int

    init(_ body: [UInt8]) throws(MediaError) {
        let view = ByteView(body)
        let fieldSize = view[1] & 1 != 0 ? 4 : 2  // after the version byte, flags: 1 means 32-bit sizes
        guard let width = view.uintBE(4, size: fieldSize), let height = view.uintBE(4 + fieldSize, size: fieldSize) else {
            throw corruptHEIF("grid description of \(body.count) bytes ends early")
        }
        rows = Int(view[2]) + 1
        columns = Int(view[3]) + 1
        outputWidth = Int(width)
        outputHeight = Int(height)
    }
}

/// The full-size picture grid tiles are copied into, in the tiles' own pixel format.
struct Canvas {
    let frame = Frame()
    let layout: GridLayout
    let tileWidth: Int
    let tileHeight: Int
    let format: AVPixelFormat

    init(layout: GridLayout, firstTile tile: Frame) throws(MediaError) {
        self.layout = layout
        tileWidth = Int(tile.pointer.pointee.width)
        tileHeight = Int(tile.pointer.pointee.height)
        format = AVPixelFormat(tile.pointer.pointee.format)
        // Tile sizes are below 2^31 each and a grid has at most 256×256 tiles, but the product may still wrap.
        let (tilePixels, tileOverflow) = tileWidth.multipliedReportingOverflow(by: tileHeight)
        let (_, overflow) = tilePixels.multipliedReportingOverflow(by: layout.columns * layout.rows)
        guard !tileOverflow, !overflow else {
            throw corruptHEIF("grid of \(layout.columns)×\(layout.rows) tiles of \(tileWidth)×\(tileHeight) is too large")
        }
        try PictureBudget.checkDecoded(width: tileWidth * layout.columns, height: tileHeight * layout.rows, format: format)
        guard layout.outputWidth <= tileWidth * layout.columns, layout.outputHeight <= tileHeight * layout.rows,
              layout.outputWidth > 0, layout.outputHeight > 0 else {
            throw corruptHEIF("grid output \(layout.outputWidth)×\(layout.outputHeight) exceeds its \(layout.columns)×\(layout.rows) tiles of \(tileWidth)×\(tileHeight)")
        }
        frame.pointer.pointee.width = Int32(tileWidth * layout.columns)
        frame.pointer.pointee.height = Int32(tileHeight * layout.rows)
        frame.pointer.pointee.format = format.rawValue
        frame.pointer.pointee.colorspace = tile.pointer.pointee.colorspace
        frame.pointer.pointee.color_range = tile.pointer.pointee.color_range
        frame.pointer.pointee.color_primaries = tile.pointer.pointee.color_primaries
        let status = av_frame_get_buffer(frame.pointer, 0)
        guard status >= 0 else {
            throw MediaError(.thumbnail, .decodeFailed("cannot allocate a \(tileWidth * layout.columns)×\(tileHeight * layout.rows) canvas: \(avErrorText(status))"))
        }
    }

    func place(_ tile: Frame, at index: Int) throws(MediaError) {
        guard Int(tile.pointer.pointee.width) == tileWidth, Int(tile.pointer.pointee.height) == tileHeight,
              tile.pointer.pointee.format == format.rawValue, index >= 0, index < layout.rows * layout.columns,
              let descriptor = av_pix_fmt_desc_get(format) else {
            throw corruptHEIF("grid tile \(index) differs from the first tile")
        }
        let column = index % layout.columns, row = index / layout.columns
        for plane in 0..<Int(av_pix_fmt_count_planes(format)) {
            let isChroma = plane == 1 || plane == 2
            let shiftDown = isChroma ? Int(descriptor.pointee.log2_chroma_h) : 0
            let bytesAcross = Int(av_image_get_linesize(format, Int32(tileWidth), Int32(plane)))
            let xOffset = Int(av_image_get_linesize(format, Int32(column * tileWidth), Int32(plane)))
            let top = (row * tileHeight) >> shiftDown
            let rows = (tileHeight + (1 << shiftDown) - 1) >> shiftDown
            let canvasStride = Int(frame.lineSize(plane))
            av_image_copy_plane(frame.plane(plane)! + top * canvasStride + xOffset, Int32(canvasStride),
                                tile.plane(plane), tile.lineSize(plane), Int32(bytesAcross), Int32(rows))
        }
    }

    /// The canvas cut to the grid's output size (from the top left, as the format specifies).
    var croppedFrame: Frame {
        frame.pointer.pointee.width = Int32(layout.outputWidth)
        frame.pointer.pointee.height = Int32(layout.outputHeight)
        return frame
    }
}

private func corruptHEIF(_ why: String) -> MediaError { MediaError(.thumbnail, .corrupt("HEIF: \(why)")) }
