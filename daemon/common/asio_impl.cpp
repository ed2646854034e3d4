// Asio and Beast are header-only by default; compiling their implementation once here instead of
// in every translation unit keeps builds fast (BOOST_ASIO_SEPARATE_COMPILATION).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
