import CFFmpeg

/// A configured libavfilter chain from one buffer source to one buffer sink.
final class FilterGraph {
    private var graph: UnsafeMutablePointer<AVFilterGraph>?
    let source: UnsafeMutablePointer<AVFilterContext>
    let sink: UnsafeMutablePointer<AVFilterContext>

    /// - Parameters:
    ///   - audio: `abuffer`/`abuffersink` instead of `buffer`/`buffersink`.
    ///   - sourceArguments: the buffer source's options (size, format, time base...).
    ///   - chain: the filters between source and sink, in libavfilter's graph syntax.
    init(audio: Bool, sourceArguments: String, chain: String) throws(MediaError) {
        var built: UnsafeMutablePointer<AVFilterGraph>? = avfilter_graph_alloc()
        guard let graph = built else { throw MediaError(.stream, .encodeFailed("out of memory for a filter graph")) }
        var configured = false
        defer { if !configured { avfilter_graph_free(&built) } }
        // Several videos are transcoded at once, each on its own worker thread: no filter threads of our own.
        graph.pointee.nb_threads = 1

        var source: UnsafeMutablePointer<AVFilterContext>? = nil
        var sink: UnsafeMutablePointer<AVFilterContext>? = nil
        try avCheck(avfilter_graph_create_filter(&source, avfilter_get_by_name(audio ? "abuffer" : "buffer"), "in",
                                                 sourceArguments, nil, graph), "filter source '\(sourceArguments)'", stage: .stream)
        try avCheck(avfilter_graph_create_filter(&sink, avfilter_get_by_name(audio ? "abuffersink" : "buffersink"),
                                                 "out", nil, nil, graph), "filter sink", stage: .stream)

        // The chain's open ends: "in" is fed by the source, "out" feeds the sink. Parsing consumes what it links.
        var outputs: UnsafeMutablePointer<AVFilterInOut>? = avfilter_inout_alloc()
        var inputs: UnsafeMutablePointer<AVFilterInOut>? = avfilter_inout_alloc()
        defer {
            avfilter_inout_free(&outputs)
            avfilter_inout_free(&inputs)
        }
        guard let sourceEnd = outputs, let sinkEnd = inputs else {
            throw MediaError(.stream, .encodeFailed("out of memory for a filter graph"))
        }
        sourceEnd.pointee.name = av_strdup("in")
        sourceEnd.pointee.filter_ctx = source
        sinkEnd.pointee.name = av_strdup("out")
        sinkEnd.pointee.filter_ctx = sink
        try avCheck(avfilter_graph_parse_ptr(graph, chain, &inputs, &outputs, nil), "filter chain '\(chain)'", stage: .stream)
        try avCheck(avfilter_graph_config(graph, nil), "filter chain '\(chain)'", stage: .stream)
        self.graph = graph
        self.source = source!
        self.sink = sink!
        configured = true
    }

    deinit { avfilter_graph_free(&graph) }

    /// Pushes `frame` (nil: end of stream) and hands every frame the sink has ready to `body`.
    func filter(_ frame: UnsafeMutablePointer<AVFrame>?, into output: Frame,
                _ body: (UnsafeMutablePointer<AVFrame>) throws(MediaError) -> Void) throws(MediaError) {
        try avCheck(av_buffersrc_add_frame_flags(source, frame, 0), "filter refused a frame", stage: .stream)
        while true {
            let received = av_buffersink_get_frame(sink, output.pointer)
            if received == averrorEAGAIN || received == averrorEOF { return }
            try avCheck(received, "filter failed", stage: .stream)
            defer { av_frame_unref(output.pointer) }
            try body(output.pointer)
        }
    }
}
